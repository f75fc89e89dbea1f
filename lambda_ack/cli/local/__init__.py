"""Local Lambdas: the emulator that answers first, the real RIE, and a client for both."""

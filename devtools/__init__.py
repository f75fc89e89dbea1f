"""Local tooling: the real Runtime Interface Emulator, a Lambda-faithful emulator, the demo.

Never shipped to Lambda; `build.sh` leaves this package out.
"""

"""The `lambda-ack` command and the local tools it runs (emulator, RIE, invoke, build).

Not the runtime: nothing of it is imported when a function runs, and no function zip or image
carries it.
"""

print("the function's own runtime.py ran instead of the runtime")

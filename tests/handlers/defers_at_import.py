from runtime import defer

defer(print, "never")

// Preloaded into the azurite child (node --require) by lib/azurite.ts.
//
// 1. azurite installs its SIGTERM handler (which closes the server and saves its database) only
//    some time after it prints its address; until then a SIGTERM kills it outright (a
//    dependency's signal-exit re-raises it). This tells the parent the moment azurite's own
//    handler is in place, so that "ready" means "stops cleanly".
// 2. The parent holds an IPC channel to this process only so that its end is noticed: when waie
//    dies without stopping azurite (SIGKILL, a crash), the channel closes and azurite stops itself
//    the clean way instead of holding its port forever.
"use strict"
let handler
process.on("newListener", (event, listener) => {
  if (handler !== undefined || event !== "SIGTERM") return
  if (!/[\\/]blob[\\/]main\.js/.test(new Error().stack || "")) return
  handler = listener
  process.nextTick(() => process.stdout.write("waie: azurite shutdown handler installed\n"))
  // listeners on the channel keep it referenced; it must not keep azurite alive once it closes
  setImmediate(() => process.channel && process.channel.unref())
})
process.on("disconnect", () => {
  if (handler === undefined) process.exit(1) // not serving yet: nothing to save
  else if (process.listeners("SIGTERM").includes(handler)) process.kill(process.pid, "SIGTERM")
  // else: azurite is already shutting down
})

// Preloaded into the azurite child (node --require). azurite installs its SIGTERM handler (which
// closes the server and saves its database) only some time after it prints its address; until
// then a SIGTERM kills it outright (a dependency's signal-exit re-raises it). This tells the
// parent the moment azurite's own handler is in place, so that "ready" means "stops cleanly".
"use strict"
let told = false
process.on("newListener", (event) => {
  if (told || event !== "SIGTERM") return
  if (!/[\\/]blob[\\/]main\.js/.test(new Error().stack || "")) return
  told = true
  process.nextTick(() => process.stdout.write("waie: azurite shutdown handler installed\n"))
})

import assert from "node:assert/strict"
import { test } from "node:test"
import { fitLine, Sampler } from "./plan-estimate.ts"

test("the fitted line goes through points on a line: per-file time and per-byte time recovered", () => {
  const points = [0, 1000, 5_000_000, 20_000_000].map((bytes) => ({ bytes, seconds: 0.002 + bytes / 100e6 }))
  const fit = fitLine(points)
  assert.ok(Math.abs(fit.perFile - 0.002) < 1e-9)
  assert.ok(Math.abs(1 / fit.perByte - 100e6) < 1)
})

test("a line that would need negative times is kept physical", () => {
  // bigger files measured faster than small ones (noise): no negative rate, the mean per file
  assert.deepEqual(fitLine([{ bytes: 10, seconds: 2 }, { bytes: 1000, seconds: 1 }]), { perFile: 1.5, perByte: 0 })
  // a negative per-file time: all of it per byte
  const f = fitLine([{ bytes: 1000, seconds: 0.5 }, { bytes: 2000, seconds: 1.5 }])
  assert.deepEqual(f, { perFile: 0, perByte: 2 / 3000 })
  // one point, or all of one size
  assert.deepEqual(fitLine([{ bytes: 100, seconds: 1 }]), { perFile: 0, perByte: 0.01 })
  assert.deepEqual(fitLine([{ bytes: 0, seconds: 1 }, { bytes: 0, seconds: 3 }]), { perFile: 2, perByte: 0 })
  assert.deepEqual(fitLine([]), { perFile: 0, perByte: 0 })
})

test("the sample: the largest file always, the others drawn the same way every time", () => {
  const draw = () => {
    const s = new Sampler(5)
    for (let i = 0; i < 1000; i++) s.add({ path: `f${i}`, length: i === 617 ? 1e9 : i })
    return s.files()
  }
  const a = draw()
  assert.deepEqual(a, draw())
  assert.ok(a.some((f) => f.path === "f617"))
  assert.ok(a.length <= 6)
  assert.ok(a.some((f) => Number(f.path.slice(1)) > 5), "later files can be drawn")
})

// Golden vectors for `wit-cache hash-files`: GitHub's hashFiles() as the runner computes it.
//
// The runner does not run the @actions/glob its package.json names: it runs the committed ncc
// bundle src/Misc/layoutbin/hashFiles/index.js of actions/runner, built from hashFiles.ts with
// @actions/glob 0.4.0 and minimatch 3.1.2 (and @actions/core 1.10.0). package.json pins exactly
// those versions (minimatch and the rest through `overrides`), and hashFiles() below is the
// bundle's hashFiles.ts logic: same glob options, same workspace check, same directory skip,
// same digest of digests.
//
// Usage:
//   node golden.mjs CASES.json OUT.json
//       the logic below on the npm packages
//   node golden.mjs --bundle INDEX.js CASES.json OUT.json
//       the runner's real bundle (a local copy; it is never committed), run the way the runner
//       runs it: `node INDEX.js` in the workspace, patterns joined by newlines in env
//       `patterns`, `followSymbolicLinks=true` when following, the hash read from stderr
//       between `__OUTPUT__` markers, a non-zero exit an error.
//
//   CASES.json: [{"workspace": DIR, "patterns": [STR...], "follow": bool, "home": DIR?}, ...]
//   OUT.json:   [{"hash": HEX-or-"", "files": N} | {"error": MESSAGE}, ...] in the same order
//
// The results go to a file because @actions/core writes `::debug::` lines to stdout.

import {execFile} from 'child_process'
import * as crypto from 'crypto'
import * as fs from 'fs'
import * as glob from '@actions/glob'
import * as os from 'os'
import * as path from 'path'
import * as stream from 'stream'
import * as util from 'util'

async function hashFiles(matchPatterns, followSymbolicLinks) {
  let hasMatch = false
  const githubWorkspace = process.cwd()
  const result = crypto.createHash('sha256')
  let count = 0
  const globber = await glob.create(matchPatterns, {followSymbolicLinks})
  for await (const file of globber.globGenerator()) {
    if (!file.startsWith(`${githubWorkspace}${path.sep}`)) {
      continue
    }
    if (fs.statSync(file).isDirectory()) {
      continue
    }
    const hash = crypto.createHash('sha256')
    const pipeline = util.promisify(stream.pipeline)
    await pipeline(fs.createReadStream(file), hash)
    result.write(hash.digest())
    count++
    if (!hasMatch) {
      hasMatch = true
    }
  }
  result.end()
  return {hash: hasMatch ? result.digest('hex') : '', files: count}
}

async function runHarness(cases) {
  const out = []
  for (const c of cases) {
    process.chdir(c.workspace)
    if (c.home) {
      process.env.HOME = c.home
    }
    try {
      out.push(await hashFiles(c.patterns.join('\n'), !!c.follow))
    } catch (err) {
      out.push({error: String(err && err.message ? err.message : err)})
    }
  }
  return out
}

// One run of the real bundle.
function runBundleCase(bundle, c) {
  const env = {PATH: process.env.PATH, patterns: c.patterns.join('\n')}
  if (c.home) {
    env.HOME = c.home
  }
  if (c.follow) {
    env.followSymbolicLinks = 'true'
  }
  return new Promise(resolve => {
    execFile(
      process.execPath,
      [bundle],
      {cwd: c.workspace, env, maxBuffer: 1 << 30, timeout: 120000},
      (err, stdout, stderr) => {
        if (err) {
          resolve({error: `bundle failed (${err.code ?? err.signal}): ${stderr.trim()}`})
          return
        }
        const marker = stderr
          .split('\n')
          .find(l => l.startsWith('__OUTPUT__') && l.endsWith('__OUTPUT__'))
        if (marker === undefined) {
          resolve({error: `bundle printed no __OUTPUT__ line: ${stderr.trim()}`})
          return
        }
        const found = /^Found (\d+) files to hash\.$/m.exec(stdout)
        resolve({hash: marker.slice(10, -10), files: found ? Number(found[1]) : 0})
      }
    )
  })
}

async function runBundle(bundle, cases) {
  const out = new Array(cases.length)
  let next = 0
  const worker = async () => {
    while (next < cases.length) {
      const i = next++
      out[i] = await runBundleCase(bundle, cases[i])
    }
  }
  await Promise.all(Array.from({length: Math.max(2, os.cpus().length)}, worker))
  return out
}

async function main() {
  const args = process.argv.slice(2)
  let bundle = null
  if (args[0] === '--bundle') {
    bundle = path.resolve(args[1])
    args.splice(0, 2)
  }
  if (args.length !== 2) {
    throw new Error('usage: node golden.mjs [--bundle INDEX.js] CASES.json OUT.json')
  }
  // Resolved before the first chdir.
  const [casesPath, outPath] = args.map(x => path.resolve(x))
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'))
  const out = bundle ? await runBundle(bundle, cases) : await runHarness(cases)
  fs.writeFileSync(outPath, JSON.stringify(out))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})

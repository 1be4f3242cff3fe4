// Golden vectors for `wit-cache hash-files`: GitHub's hashFiles() computed with the real
// @actions/glob, exactly as the runner's src/Misc/expressionFunc/hashFiles/src/hashFiles.ts does
// (same glob options, same workspace check, same directory skip, same digest of digests).
//
// Usage: node golden.mjs CASES.json OUT.json
//   CASES.json: [{"workspace": DIR, "patterns": [STR...], "follow": bool, "home": DIR?}, ...]
//   OUT.json:   [{"hash": HEX-or-"", "files": N} | {"error": MESSAGE}, ...] in the same order
//
// The runner joins the hashFiles() arguments with a newline and runs this logic with the
// workspace as its working directory; we do the same with process.chdir. The result goes to a
// file because @actions/core writes `::debug::` lines to stdout.

import * as crypto from 'crypto'
import * as fs from 'fs'
import * as glob from '@actions/glob'
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

async function main() {
  const args = process.argv.slice(2)
  if (args.length !== 2) {
    throw new Error('usage: node golden.mjs CASES.json OUT.json')
  }
  // Resolved before the first chdir.
  const [casesPath, outPath] = args.map(x => path.resolve(x))
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'))
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
  fs.writeFileSync(outPath, JSON.stringify(out))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})

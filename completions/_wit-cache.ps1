
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'wit-cache' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'wit-cache'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'wit-cache' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)')
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Archive paths into the store under a key (a no-op when the key exists)')
            [CompletionResult]::new('hash-files', 'hash-files', [CompletionResultType]::ParameterValue, 'Print the hash GitHub''s hashFiles() gives for the files matching the patterns')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List cache entries (all repos unless --repo or WIT_REPO is set)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one entry''s metadata and the files in its archive, without extracting')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete entries by id, key, key prefix, or all of a repo')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Hit rates, sizes and restore times per repo and overall')
            [CompletionResult]::new('gc', 'gc', [CompletionResultType]::ParameterValue, 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every archive against the index; remove damaged entries')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the cache settings web page and its JSON API')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wit-cache;restore' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The cache key: 1-512 characters, no commas, no control characters')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope (e.g. the branch) the entry belongs to')
            [CompletionResult]::new('--restore-key', '--restore-key', [CompletionResultType]::ParameterName, 'A key prefix to fall back on, in order (repeatable, or newline-separated)')
            [CompletionResult]::new('--fallback-scope', '--fallback-scope', [CompletionResultType]::ParameterName, 'A scope to read after the own one, in order (e.g. the default branch)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--allow-broad-paths', '--allow-broad-paths', [CompletionResultType]::ParameterName, 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)')
            [CompletionResult]::new('--lookup-only', '--lookup-only', [CompletionResultType]::ParameterName, 'Only look the entry up and report it; extract nothing')
            [CompletionResult]::new('--explain', '--explain', [CompletionResultType]::ParameterName, 'Print the whole search in the local index — each scope and key in order, every candidate and why it was or was not taken, and why a miss missed; restores nothing')
            [CompletionResult]::new('--fail-on-miss', '--fail-on-miss', [CompletionResultType]::ParameterName, 'Exit with code 3 when no entry matches (a miss is otherwise a success)')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Write nothing to the store: no statistics, no clean-up of damaged entries (for untrusted jobs and read-only mounts of the store)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;save' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The cache key: 1-512 characters, no commas, no control characters')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope (e.g. the branch) the entry belongs to')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'How to compress the archive')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)')
            [CompletionResult]::new('--run-id', '--run-id', [CompletionResultType]::ParameterName, 'The workflow run that made the entry [env: WIT_RUN_ID, then GITHUB_RUN_ID]')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--allow-broad-paths', '--allow-broad-paths', [CompletionResultType]::ParameterName, 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'Replace an existing entry atomically instead of keeping the first one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;hash-files' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--follow-symbolic-links', '--follow-symbolic-links', [CompletionResultType]::ParameterName, 'Descend into symbolic links to directories')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;list' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with this (literally, case-insensitively)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Only entries of this scope')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Order of the entries')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N entries')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Act on the shared object store (--store) instead of the local one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;show' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Only the entry of this scope')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--files', '--files', [CompletionResultType]::ParameterName, 'List every file (an entry of more than 50 files is otherwise summarised: counts and the largest directories)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;delete' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Every entry with this key (all versions), in the repo')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Every entry whose key starts with this, in the repo')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Only entries of this scope')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every entry of the repo')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be deleted, delete nothing')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Act on the shared object store (--store) instead of the local one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;stats' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Count restore attempts of this recent period only (e.g. 24h, 7d)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (--json is the same as --format json)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Act on the shared object store (--store) instead of the local one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;gc' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Size limit per repo, e.g. 10GiB, 500M [env: WIT_CACHE_MAX_SIZE, then MAX_CACHE_SIZE_GB; default: 10GiB]')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Remove entries not used for this long, e.g. 7d, 12h [env: WIT_CACHE_TTL, then CACHE_TTL_DAYS; default: 7d]')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be removed, remove nothing')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Act on the shared object store (--store) instead of the local one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;verify' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;export' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Only the entry of this scope')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'How to compress the tar stream')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file (created, never replaced) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file (created, never replaced) instead of stdout')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;import' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The cache key: 1-512 characters, no commas, no control characters')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope (e.g. the branch) the entry belongs to')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--allow-broad-paths', '--allow-broad-paths', [CompletionResultType]::ParameterName, 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;run' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The cache key: 1-512 characters, no commas, no control characters')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope (e.g. the branch) the entry belongs to')
            [CompletionResult]::new('--restore-key', '--restore-key', [CompletionResultType]::ParameterName, 'A key prefix to fall back on, in order (repeatable, or newline-separated)')
            [CompletionResult]::new('--fallback-scope', '--fallback-scope', [CompletionResultType]::ParameterName, 'A scope to read after the own one, in order (e.g. the default branch)')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'How to compress the archive')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--allow-broad-paths', '--allow-broad-paths', [CompletionResultType]::ParameterName, 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)')
            [CompletionResult]::new('--skip-on-hit', '--skip-on-hit', [CompletionResultType]::ParameterName, 'Run nothing after an exact hit of the primary key (the restored files are the command''s result, e.g. node_modules for `npm ci`); exit 0')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;completions' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'The address to listen on (port 0 picks a free port; the bound address is printed)')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'A file holding the admin token that deleting and clearing need (as `Authorization: Bearer TOKEN`), in every repo [default: env WIT_CACHE_ADMIN_TOKEN; without it and without --tokens-file, nothing can be deleted]')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'A file of repository tokens, one per line: REPO-GLOB TOKEN-SHA256, the lowercase hex SHA-256 of a token that may delete in the repos the glob matches (`*` stays within one segment: acme/* is every repo of acme); blank lines and `#` comments are allowed')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more; errors show their whole cause chain')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wit-cache;help' {
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)')
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Archive paths into the store under a key (a no-op when the key exists)')
            [CompletionResult]::new('hash-files', 'hash-files', [CompletionResultType]::ParameterValue, 'Print the hash GitHub''s hashFiles() gives for the files matching the patterns')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List cache entries (all repos unless --repo or WIT_REPO is set)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one entry''s metadata and the files in its archive, without extracting')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete entries by id, key, key prefix, or all of a repo')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Hit rates, sizes and restore times per repo and overall')
            [CompletionResult]::new('gc', 'gc', [CompletionResultType]::ParameterValue, 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every archive against the index; remove damaged entries')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the cache settings web page and its JSON API')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wit-cache;help;restore' {
            break
        }
        'wit-cache;help;save' {
            break
        }
        'wit-cache;help;hash-files' {
            break
        }
        'wit-cache;help;list' {
            break
        }
        'wit-cache;help;show' {
            break
        }
        'wit-cache;help;delete' {
            break
        }
        'wit-cache;help;stats' {
            break
        }
        'wit-cache;help;gc' {
            break
        }
        'wit-cache;help;verify' {
            break
        }
        'wit-cache;help;export' {
            break
        }
        'wit-cache;help;import' {
            break
        }
        'wit-cache;help;run' {
            break
        }
        'wit-cache;help;completions' {
            break
        }
        'wit-cache;help;serve' {
            break
        }
        'wit-cache;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

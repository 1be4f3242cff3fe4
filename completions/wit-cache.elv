
use builtin;
use str;

set edit:completion:arg-completer[wit-cache] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'wit-cache'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'wit-cache'= {
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand restore 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)'
            cand save 'Archive paths into the store under a key (a no-op when the key exists)'
            cand hash-files 'Print the hash GitHub''s hashFiles() gives for the files matching the patterns'
            cand list 'List cache entries (all repos unless --repo or WIT_REPO is set)'
            cand show 'Show one entry''s metadata and the files in its archive, without extracting'
            cand delete 'Delete entries by id, key, key prefix, or all of a repo'
            cand stats 'Hit rates, sizes and restore times per repo and overall'
            cand gc 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers'
            cand verify 'Re-hash every archive against the index; remove damaged entries'
            cand export 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads'
            cand import 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)'
            cand run 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line'
            cand completions 'Print shell completions (bash, zsh, fish, elvish, powershell)'
            cand serve 'Serve the cache settings web page and its JSON API'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wit-cache;restore'= {
            cand --key 'The cache key: 1-512 characters, no commas, no control characters'
            cand --path 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input'
            cand --scope 'The scope (e.g. the branch) the entry belongs to'
            cand --restore-key 'A key prefix to fall back on, in order (repeatable, or newline-separated)'
            cand --fallback-scope 'A scope to read after the own one, in order (e.g. the default branch)'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --allow-broad-paths 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
            cand --lookup-only 'Only look the entry up and report it; extract nothing'
            cand --explain 'Print the whole search in the local index — each scope and key in order, every candidate and why it was or was not taken, and why a miss missed; restores nothing'
            cand --fail-on-miss 'Exit with code 3 when no entry matches (a miss is otherwise a success)'
            cand --read-only 'Write nothing to the store: no statistics, no clean-up of damaged entries (for untrusted jobs and read-only mounts of the store)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;save'= {
            cand --key 'The cache key: 1-512 characters, no commas, no control characters'
            cand --path 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input'
            cand --scope 'The scope (e.g. the branch) the entry belongs to'
            cand --compression 'How to compress the archive'
            cand --level 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)'
            cand --format 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)'
            cand --run-id 'The workflow run that made the entry [env: WIT_RUN_ID, then GITHUB_RUN_ID]'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --allow-broad-paths 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
            cand --overwrite 'Replace an existing entry atomically instead of keeping the first one'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;hash-files'= {
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --follow-symbolic-links 'Descend into symbolic links to directories'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;list'= {
            cand --prefix 'Only keys starting with this (literally, case-insensitively)'
            cand --scope 'Only entries of this scope'
            cand --sort 'Order of the entries'
            cand --limit 'Show at most N entries'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --remote 'Act on the shared object store (--store) instead of the local one'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;show'= {
            cand --scope 'Only the entry of this scope'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --files 'List every file (an entry of more than 50 files is otherwise summarised: counts and the largest directories)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;delete'= {
            cand --key 'Every entry with this key (all versions), in the repo'
            cand --prefix 'Every entry whose key starts with this, in the repo'
            cand --scope 'Only entries of this scope'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --all 'Every entry of the repo'
            cand --dry-run 'Say what would be deleted, delete nothing'
            cand --remote 'Act on the shared object store (--store) instead of the local one'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;stats'= {
            cand --since 'Count restore attempts of this recent period only (e.g. 24h, 7d)'
            cand --format 'Output format (--json is the same as --format json)'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --remote 'Act on the shared object store (--store) instead of the local one'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;gc'= {
            cand --max-size 'Size limit per repo, e.g. 10GiB, 500M [env: WIT_CACHE_MAX_SIZE, then MAX_CACHE_SIZE_GB; default: 10GiB]'
            cand --max-age 'Remove entries not used for this long, e.g. 7d, 12h [env: WIT_CACHE_TTL, then CACHE_TTL_DAYS; default: 7d]'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --dry-run 'Say what would be removed, remove nothing'
            cand --remote 'Act on the shared object store (--store) instead of the local one'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;verify'= {
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;export'= {
            cand --scope 'Only the entry of this scope'
            cand --compression 'How to compress the tar stream'
            cand -o 'Write to this file (created, never replaced) instead of stdout'
            cand --output 'Write to this file (created, never replaced) instead of stdout'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;import'= {
            cand --key 'The cache key: 1-512 characters, no commas, no control characters'
            cand --path 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input'
            cand --scope 'The scope (e.g. the branch) the entry belongs to'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --allow-broad-paths 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;run'= {
            cand --key 'The cache key: 1-512 characters, no commas, no control characters'
            cand --path 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action''s `path:` input'
            cand --scope 'The scope (e.g. the branch) the entry belongs to'
            cand --restore-key 'A key prefix to fall back on, in order (repeatable, or newline-separated)'
            cand --fallback-scope 'A scope to read after the own one, in order (e.g. the default branch)'
            cand --compression 'How to compress the archive'
            cand --level 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)'
            cand --format 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --allow-broad-paths 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
            cand --skip-on-hit 'Run nothing after an exact hit of the primary key (the restored files are the command''s result, e.g. node_modules for `npm ci`); exit 0'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;completions'= {
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;serve'= {
            cand --listen 'The address to listen on (port 0 picks a free port; the bound address is printed)'
            cand --admin-token-file 'A file holding the admin token that deleting and clearing need (as `Authorization: Bearer TOKEN`), in every repo [default: env WIT_CACHE_ADMIN_TOKEN; without it and without --tokens-file, nothing can be deleted]'
            cand --tokens-file 'A file of repository tokens, one per line: REPO-GLOB TOKEN-SHA256, the lowercase hex SHA-256 of a token that may delete in the repos the glob matches (`*` stays within one segment: acme/* is every repo of acme); blank lines and `#` comments are allowed'
            cand --cache-dir 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]'
            cand --store 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only'
            cand --repo 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]'
            cand --workspace 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]'
            cand --color 'When to use colours (NO_COLOR is honoured with auto)'
            cand --json 'Print one JSON document on stdout and nothing else there'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'Say more; errors show their whole cause chain'
            cand --verbose 'Say more; errors show their whole cause chain'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wit-cache;help'= {
            cand restore 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)'
            cand save 'Archive paths into the store under a key (a no-op when the key exists)'
            cand hash-files 'Print the hash GitHub''s hashFiles() gives for the files matching the patterns'
            cand list 'List cache entries (all repos unless --repo or WIT_REPO is set)'
            cand show 'Show one entry''s metadata and the files in its archive, without extracting'
            cand delete 'Delete entries by id, key, key prefix, or all of a repo'
            cand stats 'Hit rates, sizes and restore times per repo and overall'
            cand gc 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers'
            cand verify 'Re-hash every archive against the index; remove damaged entries'
            cand export 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads'
            cand import 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)'
            cand run 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line'
            cand completions 'Print shell completions (bash, zsh, fish, elvish, powershell)'
            cand serve 'Serve the cache settings web page and its JSON API'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wit-cache;help;restore'= {
        }
        &'wit-cache;help;save'= {
        }
        &'wit-cache;help;hash-files'= {
        }
        &'wit-cache;help;list'= {
        }
        &'wit-cache;help;show'= {
        }
        &'wit-cache;help;delete'= {
        }
        &'wit-cache;help;stats'= {
        }
        &'wit-cache;help;gc'= {
        }
        &'wit-cache;help;verify'= {
        }
        &'wit-cache;help;export'= {
        }
        &'wit-cache;help;import'= {
        }
        &'wit-cache;help;run'= {
        }
        &'wit-cache;help;completions'= {
        }
        &'wit-cache;help;serve'= {
        }
        &'wit-cache;help;help'= {
        }
    ]
    $completions[$command]
}

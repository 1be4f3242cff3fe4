# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wit_cache_global_optspecs
    string join \n cache-dir= store= repo= workspace= json q/quiet v/verbose color= h/help V/version
end

function __fish_wit_cache_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wit_cache_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wit_cache_using_subcommand
    set -l cmd (__fish_wit_cache_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wit-cache -n "__fish_wit_cache_needs_command" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_needs_command" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_needs_command" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_needs_command" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_needs_command" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_needs_command" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "restore" -d 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "save" -d 'Archive paths into the store under a key (a no-op when the key exists)'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "hash-files" -d 'Print the hash GitHub\'s hashFiles() gives for the files matching the patterns'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "list" -d 'List cache entries (all repos unless --repo or WIT_REPO is set)'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "show" -d 'Show one entry\'s metadata and the files in its archive, without extracting'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "delete" -d 'Delete entries by id, key, key prefix, or all of a repo'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "stats" -d 'Hit rates, sizes and restore times per repo and overall'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "gc" -d 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "verify" -d 'Re-hash every archive against the index; remove damaged entries'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "export" -d 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "import" -d 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "run" -d 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "serve" -d 'Serve the cache settings web page and its JSON API'
complete -c wit-cache -n "__fish_wit_cache_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l key -d 'The cache key: 1-512 characters, no commas, no control characters' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l path -d 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action\'s `path:` input' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l scope -d 'The scope (e.g. the branch) the entry belongs to' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l restore-key -d 'A key prefix to fall back on, in order (repeatable, or newline-separated)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l fallback-scope -d 'A scope to read after the own one, in order (e.g. the default branch)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l allow-broad-paths -d 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l lookup-only -d 'Only look the entry up and report it; extract nothing'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l explain -d 'Print the whole search in the local index — each scope and key in order, every candidate and why it was or was not taken, and why a miss missed; restores nothing'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l fail-on-miss -d 'Exit with code 3 when no entry matches (a miss is otherwise a success)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l read-only -d 'Write nothing to the store: no statistics, no clean-up of damaged entries (for untrusted jobs and read-only mounts of the store)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand restore" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l key -d 'The cache key: 1-512 characters, no commas, no control characters' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l path -d 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action\'s `path:` input' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l scope -d 'The scope (e.g. the branch) the entry belongs to' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l compression -d 'How to compress the archive' -r -f -a "zstd\t''
gzip\t''
none\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l level -d 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l format -d 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)' -r -f -a "archive\t''
cas\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l run-id -d 'The workflow run that made the entry [env: WIT_RUN_ID, then GITHUB_RUN_ID]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l allow-broad-paths -d 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l overwrite -d 'Replace an existing entry atomically instead of keeping the first one'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand save" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l follow-symbolic-links -d 'Descend into symbolic links to directories'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand hash-files" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l prefix -d 'Only keys starting with this (literally, case-insensitively)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l scope -d 'Only entries of this scope' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l sort -d 'Order of the entries' -r -f -a "created\t'Newest first'
last-used\t'Most recently used first'
size\t'Largest first'"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l limit -d 'Show at most N entries' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l remote -d 'Act on the shared object store (--store) instead of the local one'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand list" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l scope -d 'Only the entry of this scope' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l files -d 'List every file (an entry of more than 50 files is otherwise summarised: counts and the largest directories)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand show" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l key -d 'Every entry with this key (all versions), in the repo' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l prefix -d 'Every entry whose key starts with this, in the repo' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l scope -d 'Only entries of this scope' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l all -d 'Every entry of the repo'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l dry-run -d 'Say what would be deleted, delete nothing'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l remote -d 'Act on the shared object store (--store) instead of the local one'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand delete" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l since -d 'Count restore attempts of this recent period only (e.g. 24h, 7d)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l format -d 'Output format (--json is the same as --format json)' -r -f -a "table\t''
json\t''
prometheus\t'node_exporter textfile format'"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l remote -d 'Act on the shared object store (--store) instead of the local one'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand stats" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l max-size -d 'Size limit per repo, e.g. 10GiB, 500M [env: WIT_CACHE_MAX_SIZE, then MAX_CACHE_SIZE_GB; default: 10GiB]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l max-age -d 'Remove entries not used for this long, e.g. 7d, 12h [env: WIT_CACHE_TTL, then CACHE_TTL_DAYS; default: 7d]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l dry-run -d 'Say what would be removed, remove nothing'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l remote -d 'Act on the shared object store (--store) instead of the local one'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand gc" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand verify" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l scope -d 'Only the entry of this scope' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l compression -d 'How to compress the tar stream' -r -f -a "zstd\t''
gzip\t''
none\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -s o -l output -d 'Write to this file (created, never replaced) instead of stdout' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand export" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l key -d 'The cache key: 1-512 characters, no commas, no control characters' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l path -d 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action\'s `path:` input' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l scope -d 'The scope (e.g. the branch) the entry belongs to' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l allow-broad-paths -d 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand import" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l key -d 'The cache key: 1-512 characters, no commas, no control characters' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l path -d 'A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute or ~/…; repeat it or separate paths by newlines, as in the action\'s `path:` input' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l scope -d 'The scope (e.g. the branch) the entry belongs to' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l restore-key -d 'A key prefix to fall back on, in order (repeatable, or newline-separated)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l fallback-scope -d 'A scope to read after the own one, in order (e.g. the default branch)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l compression -d 'How to compress the archive' -r -f -a "zstd\t''
gzip\t''
none\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l level -d 'Compression level (zstd 1-19, default 3; gzip 1-9, default 6)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l format -d 'How to store the entry: archive (one compressed tar file) or cas (a manifest plus content blobs shared by every entry of the store, so a save writes only what changed; zstd only)' -r -f -a "archive\t''
cas\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l allow-broad-paths -d 'Accept a path line that is the home directory, or an ancestor of it or of the workspace (refused by default: `--path ~` would cache ~/.ssh)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l skip-on-hit -d 'Run nothing after an exact hit of the primary key (the restored files are the command\'s result, e.g. node_modules for `npm ci`); exit 0'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand run" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand completions" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l listen -d 'The address to listen on (port 0 picks a free port; the bound address is printed)' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l admin-token-file -d 'A file holding the admin token that deleting and clearing need (as `Authorization: Bearer TOKEN`), in every repo [default: env WIT_CACHE_ADMIN_TOKEN; without it and without --tokens-file, nothing can be deleted]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l tokens-file -d 'A file of repository tokens, one per line: REPO-GLOB TOKEN-SHA256, the lowercase hex SHA-256 of a token that may delete in the repos the glob matches (`*` stays within one segment: acme/* is every repo of acme); blank lines and `#` comments are allowed' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l cache-dir -d 'The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env CACHE_DIR is honoured after WIT_CACHE_DIR]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l store -d 'Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region and endpoint from the AWS_* variables); without it the store is local only' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l repo -d 'The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]' -r
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l workspace -d 'Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default: the current directory]' -r -F
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l color -d 'When to use colours (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -l json -d 'Print one JSON document on stdout and nothing else there'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -s q -l quiet -d 'Print only warnings and errors'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -s v -l verbose -d 'Say more; errors show their whole cause chain'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -s h -l help -d 'Print help'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand serve" -s V -l version -d 'Print version'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "restore" -d 'Restore a cache entry into its paths (exact key, then prefixes, then restore keys)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "save" -d 'Archive paths into the store under a key (a no-op when the key exists)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "hash-files" -d 'Print the hash GitHub\'s hashFiles() gives for the files matching the patterns'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "list" -d 'List cache entries (all repos unless --repo or WIT_REPO is set)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "show" -d 'Show one entry\'s metadata and the files in its archive, without extracting'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "delete" -d 'Delete entries by id, key, key prefix, or all of a repo'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "stats" -d 'Hit rates, sizes and restore times per repo and overall'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "gc" -d 'Remove idle entries, evict least recently used ones over the size limit, sweep leftovers'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "verify" -d 'Re-hash every archive against the index; remove damaged entries'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "export" -d 'Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "import" -d 'Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "run" -d 'Restore, run a command, save when it succeeded: actions/cache for any CI in one line'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "serve" -d 'Serve the cache settings web page and its JSON API'
complete -c wit-cache -n "__fish_wit_cache_using_subcommand help; and not __fish_seen_subcommand_from restore save hash-files list show delete stats gc verify export import run completions serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

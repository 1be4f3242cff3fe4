mod hash_files;

"""Token authorities (the TokenAuthority port): KBase's auth service, or a file of token hashes; and that file."""

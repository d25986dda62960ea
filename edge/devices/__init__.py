"""Device profiles (torch-free): threads, backend, precision and install line per target."""

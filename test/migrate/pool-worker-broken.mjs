// A worker script that fails while loading (the worker pool tests): it never takes a file.
throw new Error("this worker cannot start");

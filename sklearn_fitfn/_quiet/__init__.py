"""Other libraries, started without their log lines.

- :mod:`.tensorflow`: TensorFlow and Keras, imported quietly, and their
  retracing notices held back while a fit runs; every module that needs them
  takes them from there;
- :mod:`.dask_worker`: the plugin that keeps a local Dask cluster's worker
  processes quiet and leaves Ctrl-C to the process that started them.

It imports nothing of the package.
"""

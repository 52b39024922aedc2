"""The classic builder: Dockerfile front end, context, cache, executor.

Docker's legacy (non-BuildKit) builder, image by image and layer by layer: the Dockerfile
language (``parser``, ``shellwords``, ``instructions``, ``stages``), the build context and
``.dockerignore`` (``dockerignore``, ``context``), the layer cache and the executor.
"""

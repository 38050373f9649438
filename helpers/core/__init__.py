"""The ground every stage stands on: where the runtime is (Colab or not), the Drive layout
(`paths.LAYOUT`), the profiles and settings, secrets, writing and reading the files the notebooks
exchange (atomically, with the prepared set's manifest), the run context and summary a notebook
gets from `helpers.setup()`, copying to Drive within its quota, Reddit's shared vocabulary, and
the tools that run and check the notebooks. Imports nothing else of `helpers`."""

# Examples of include/ctgrad/nn, each built and run as a test.
ctgrad_add_example(batch_norm_modes)

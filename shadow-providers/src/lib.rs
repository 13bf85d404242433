//! Metric sources, provisioners, traffic shifters and registries of Shadow, one feature each.

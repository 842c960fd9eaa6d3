//! (being written) The camera move's front and background layers.

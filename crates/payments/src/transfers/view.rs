//! The transfer wire bodies: a transfer, a list, its fees and its failure.

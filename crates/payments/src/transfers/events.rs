//! Which events each moment of a transfer raises, for whom, with its correlationId.

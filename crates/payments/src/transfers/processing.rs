//! The sandbox processing of pending bank transfers, as `POST /sandbox-simulations` runs it.

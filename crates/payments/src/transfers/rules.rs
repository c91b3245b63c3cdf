//! Transfer rules: what a `POST /transfers` body must hold and who may send and receive.

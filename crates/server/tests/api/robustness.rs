//! The server under hostile or broken conditions: NUL characters, database outages through a
//! proxy the test can cut or hold, and connections that never finish or sit idle.

mod connections;
mod nul;
mod outage;
mod proxy;

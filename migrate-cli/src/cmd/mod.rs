//! One module per subcommand: its arguments and what it does.

pub(crate) mod adopt;
pub(crate) mod backup;
pub(crate) mod baseline;
pub(crate) mod checkpoint;
pub(crate) mod diff;
pub(crate) mod doctor;
pub(crate) mod down;
pub(crate) mod lint;
pub(crate) mod new;
pub(crate) mod optimize;
pub(crate) mod redo;
pub(crate) mod repair;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod transfer;
pub(crate) mod up;
pub(crate) mod vacuum;
pub(crate) mod verify;

pub mod facts;
pub mod journal;
pub mod lock;
pub mod mask;
pub mod replay;
pub mod run;

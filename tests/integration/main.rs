//! Integration tests: the real binary against the local emulator, in one test binary because
//! every test binary links the whole SDK.

mod account;
mod audit;
mod bootstrap;
mod changes;
mod cloudtrail;
mod crash;
mod drift;
mod engine;
mod fault_proxy;
mod faults;
mod guardduty;
mod iam;
mod import;
mod malformed;
mod policy;
mod rds;
mod remote_state;
mod saved_plans;
mod secrets;
mod state_lock;
mod stats;
mod support;
mod tls;
mod validate;

//! Shadow: predictive infrastructure scaling.
//!
//! This is the batteries-included facade: it re-exports every Shadow crate ([`core`], [`forecast`],
//! [`providers`], [`switch`], [`deps`]) and holds the controller runtime ([`controller`]), the embedded demo and
//! the `shadow` command line ([`cli`]). Embed the smaller crates directly to pull in less.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod chart;
pub mod cli;
mod clock;
pub mod controller;
pub mod demo;
pub mod sim;

pub use clock::SystemClock;

#[doc(inline)]
pub use shadow_core as core;
#[doc(inline)]
pub use shadow_deps as deps;
#[doc(inline)]
pub use shadow_forecast as forecast;
#[doc(inline)]
pub use shadow_providers as providers;
#[doc(inline)]
pub use shadow_switch as switch;

/// Runs the code blocks of the workspace README as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

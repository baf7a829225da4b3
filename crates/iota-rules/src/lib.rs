//! Rules: finding them ([`discovery`]), what their metadata says ([`metadata`]), the Python
//! runtime embedded in the binary ([`runtime`]) and the isolated worker processes that
//! evaluate them ([`worker`]).

pub mod discovery;
pub mod metadata;
pub mod rule_tests;
pub mod runtime;
pub mod worker;

pub use discovery::{discover, LoadProblem, ProblemLevel, RuleSet, RuleSources};
pub use metadata::{DataModel, Rule, RuleKind, Severity};
pub use rule_tests::{Mock, RuleTest};
pub use worker::{
    BatchEvent, BatchResults, CaseResult, DataModelError, Evaluator, ImportError, Match,
    RuleFailure, Worker, WorkerConfig, WorkerError,
};

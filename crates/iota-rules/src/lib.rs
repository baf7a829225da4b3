//! Rules: finding them ([`discovery`]), what their metadata says ([`metadata`]), native
//! declarative rules evaluated in Rust ([`native`], [`prefilter`]), the Python
//! runtime embedded in the binary ([`runtime`]) and the isolated worker processes that
//! evaluate them ([`worker`]).

pub mod discovery;
pub mod filter;
pub mod metadata;
pub mod native;
pub mod prefilter;
pub mod rule_state;
pub mod rule_tests;
pub mod runtime;
pub mod worker;

pub use discovery::{discover, LoadProblem, ProblemLevel, RuleSet, RuleSources};
pub use filter::Condition;
pub use metadata::{DataModel, Rule, RuleKind, Severity, DEFAULT_LOG_TYPE};
pub use native::{EventTree, NativeSpec};
pub use prefilter::{Candidates, NativeVerdict, Prefilter};
pub use rule_state::{MemoryRuleState, RuleState, StateRequest, StateValue};
pub use rule_tests::{Mock, RuleTest};
pub use worker::{
    BatchEvent, BatchResults, CaseResult, DataModelError, EffectiveFilter, Evaluator, FilterOrigin,
    ImportError, Interpreter, Match, MatchDetails, RuleFailure, Worker, WorkerConfig, WorkerError,
};

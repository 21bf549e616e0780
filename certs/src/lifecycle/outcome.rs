//! What an order ended as: the outcome metrics count
//! (`porta_certificate_orders_total`), and why a failed one failed with the
//! earliest retry it allows, including the per-registered-domain budget of
//! orders that stops storms.

use std::fmt;
use std::time::Duration;

/// What an order ended as, for metrics (`porta_certificate_orders_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderOutcome {
    Issued,
    RateLimited,
    Unreachable,
    ChallengeFailed,
    Rejected,
    BudgetExhausted,
    Error,
}

impl OrderOutcome {
    pub const ALL: [OrderOutcome; 7] = [
        OrderOutcome::Issued,
        OrderOutcome::RateLimited,
        OrderOutcome::Unreachable,
        OrderOutcome::ChallengeFailed,
        OrderOutcome::Rejected,
        OrderOutcome::BudgetExhausted,
        OrderOutcome::Error,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderOutcome::Issued => "issued",
            OrderOutcome::RateLimited => "rate_limited",
            OrderOutcome::Unreachable => "unreachable",
            OrderOutcome::ChallengeFailed => "challenge_failed",
            OrderOutcome::Rejected => "rejected",
            OrderOutcome::BudgetExhausted => "budget_exhausted",
            OrderOutcome::Error => "error",
        }
    }
}

impl fmt::Display for OrderOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for OrderOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Why an order failed, in metrics and scheduling terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFailure {
    pub outcome: OrderOutcome,
    pub reason: String,
    /// The earliest retry the CA (or the budget) allows.
    pub retry_after: Option<Duration>,
}

impl OrderFailure {
    pub fn new(outcome: OrderOutcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// How long an exhausted budget holds orders back.
pub const BUDGET_RETRY: Duration = Duration::from_secs(24 * 3600);

/// Whether another order for `registered` fits a budget of `budget`
/// orders per window, `orders` having been placed in it.
pub fn order_budget(orders: i64, budget: u32, registered: &str) -> Result<(), OrderFailure> {
    if orders < i64::from(budget) {
        return Ok(());
    }
    Err(OrderFailure {
        outcome: OrderOutcome::BudgetExhausted,
        reason: format!("the budget of {budget} orders per week for {registered} is used up"),
        retry_after: Some(BUDGET_RETRY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_admits_orders_below_it() {
        assert_eq!(order_budget(0, 40, "example.test"), Ok(()));
        assert_eq!(order_budget(39, 40, "example.test"), Ok(()));
        let exhausted = order_budget(40, 40, "example.test").unwrap_err();
        assert_eq!(
            exhausted,
            OrderFailure {
                outcome: OrderOutcome::BudgetExhausted,
                reason: "the budget of 40 orders per week for example.test is used up".to_owned(),
                retry_after: Some(Duration::from_secs(24 * 3600)),
            }
        );
        assert!(order_budget(41, 40, "example.test").is_err());
    }

    #[test]
    fn order_outcomes_are_the_metric_labels() {
        let labels: Vec<&str> = OrderOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            labels,
            [
                "issued",
                "rate_limited",
                "unreachable",
                "challenge_failed",
                "rejected",
                "budget_exhausted",
                "error"
            ]
        );
        assert!(OrderOutcome::Issued == "issued");
    }
}

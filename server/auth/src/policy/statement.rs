//! A compiled statement and the test of whether it applies to a request.

use super::condition::Condition;
use super::context::RequestContext;
use super::variables::GlobTemplate;
use super::wildcard::Glob;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    /// Action patterns; matched ASCII case-insensitively.
    pub(crate) actions: Box<[Glob]>,
    /// `NotAction`: the statement applies to actions matching none of `actions`.
    pub(crate) not_action: bool,
    /// Resource patterns; matched case-sensitively.
    pub(crate) resources: Box<[GlobTemplate]>,
    /// `NotResource`: the statement applies to resources matching none of `resources`.
    pub(crate) not_resource: bool,
    /// All must hold.
    pub(crate) conditions: Box<[Condition]>,
}

impl Statement {
    /// Cheapest checks first: the action test rejects most statements without touching conditions.
    pub(crate) fn applies(&self, ctx: &dyn RequestContext) -> bool {
        let action = ctx.action();
        let action_hit = self.actions.iter().any(|p| p.matches(action, true));
        if action_hit == self.not_action {
            return false;
        }
        let resource = ctx.resource();
        let resource_hit = self.resources.iter().any(|p| p.matches(ctx, resource));
        if resource_hit == self.not_resource {
            return false;
        }
        self.conditions.iter().all(|c| {
            if ctx.is_unknown(c.key()) {
                // Conservative either way: an Allow cannot rest on it, a Deny holds.
                self.effect == Effect::Deny
            } else {
                c.evaluate(ctx)
            }
        })
    }
}

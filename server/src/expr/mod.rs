//! TEMPORARY compile stub; replaced by the expression engine branch.
use std::collections::HashMap;
use crate::model::{AttributeValue, Item};
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);
pub struct ExpressionInput<'a> {
    pub condition: Option<&'a str>,
    pub update: Option<&'a str>,
    pub projection: Option<&'a str>,
    pub filter: Option<&'a str>,
    pub key_condition: Option<&'a str>,
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a HashMap<String, AttributeValue>>,
}
#[derive(Clone, Debug)] pub struct Condition;
#[derive(Clone, Debug)] pub struct Update;
#[derive(Clone, Debug)] pub struct Projection;
pub struct Expressions { pub condition: Option<Condition>, pub update: Option<Update>, pub projection: Option<Projection>, pub filter: Option<Condition>, pub key_condition: Option<Condition> }
pub fn parse(_input: &ExpressionInput) -> Result<Expressions, ExprError> { Ok(Expressions { condition: None, update: None, projection: None, filter: None, key_condition: None }) }
pub enum PathElement { Attr(String), Index(usize) }
pub struct DocumentPath(pub Vec<PathElement>);
impl Condition { pub fn evaluate(&self, _item: &Item) -> Result<bool, ExprError> { Ok(true) } }
impl Update {
    pub fn apply(&self, _item: &mut Item) -> Result<Vec<DocumentPath>, ExprError> { Ok(vec![]) }
    pub fn check_key_attributes(&self, _key_names: &[&str]) -> Result<(), ExprError> { Ok(()) }
}
impl Projection { pub fn apply(&self, item: &Item) -> Item { item.clone() } }
pub fn project(item: &Item, _paths: &[DocumentPath]) -> Item { item.clone() }
pub mod legacy {
    use super::*;
    pub struct ExpectedAttribute { pub value: Option<AttributeValue>, pub exists: Option<bool>, pub comparison_operator: Option<String>, pub attribute_value_list: Option<Vec<AttributeValue>> }
    pub struct AttributeUpdate { pub value: Option<AttributeValue>, pub action: Option<String> }
    pub fn expected_to_condition(_e: &HashMap<String, ExpectedAttribute>, _c: Option<&str>) -> Result<Condition, ExprError> { Ok(Condition) }
    pub fn attribute_updates_to_update(_u: &HashMap<String, AttributeUpdate>) -> Result<Update, ExprError> { Ok(Update) }
    pub fn attributes_to_get(_n: &[String]) -> Result<Projection, ExprError> { Ok(Projection) }
    pub fn check_no_mixing(_l: &[&str], _e: &[&str]) -> Result<(), ExprError> { Ok(()) }
}

//! The FHIRPath subset that handover profiles use in `constraint.expression`.
//!
//! Supported: member navigation (with `value` matching `value[x]` choice members), `exists()`,
//! `exists(criteria)`, `empty()`, `not()`, `hasValue()`, `count()`, `where(criteria)`, `and`, `or`,
//! `=`, `!=`, `>`, `>=`, `<`, `<=`, string, integer and boolean literals, parentheses. Expressions are
//! parsed once when the profiles load; an expression outside the subset is a load error, never a
//! silently passing rule.
//!
//! Evaluation runs on the parsed JSON of one element (the constraint's context), so its cost is that
//! element's size, not the bundle's.

use smallvec::{smallvec, SmallVec};

use crate::json::Json;

/// A FHIRPath collection. Nearly every step yields zero or one item (`code`, `system`, a literal): inline,
/// so that evaluating a constraint allocates only for real lists (the sections of a Composition).
type Items<'a> = SmallVec<[Item<'a>; 2]>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("FHIRPath {expression:?}: {problem}")]
pub struct FhirPathError {
    pub expression: String,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Func {
    Exists(Option<Box<Ast>>),
    Empty,
    Not,
    HasValue,
    Count,
    Where(Box<Ast>),
}

#[derive(Debug, Clone, PartialEq)]
enum Ast {
    /// The context item (`$this`), the start of every path.
    This,
    Literal(Literal),
    Member(Box<Ast>, String),
    Call(Box<Ast>, Func),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Compare(Box<Ast>, Op, Box<Ast>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Dot,
    Open,
    Close,
    Op(Op),
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Op(Op::Eq));
                i += 1;
            }
            '!' | '>' | '<' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('!', true) => Op::Ne,
                    ('>', true) => Op::Ge,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    ('<', false) => Op::Lt,
                    _ => return Err(format!("unexpected {c:?}")),
                };
                tokens.push(Token::Op(op));
                i += if eq { 2 } else { 1 };
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\'') => break,
                        Some('\\') => {
                            s.extend(chars.get(i + 1));
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(s));
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                tokens.push(Token::Int(text.parse().map_err(|_| format!("bad integer {text}"))?));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unsupported character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, token: Token) -> Result<(), String> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            other => Err(format!("expected {token:?}, found {other:?}")),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w == word)
    }

    fn or(&mut self) -> Result<Ast, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Ast::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Ast, String> {
        let mut left = self.compare()?;
        while self.keyword("and") {
            self.at += 1;
            left = Ast::And(Box::new(left), Box::new(self.compare()?));
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Ast, String> {
        let left = self.path()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.at += 1;
            return Ok(Ast::Compare(Box::new(left), op, Box::new(self.path()?)));
        }
        Ok(left)
    }

    fn path(&mut self) -> Result<Ast, String> {
        let mut expr = match self.next() {
            Some(Token::Str(s)) => return Ok(Ast::Literal(Literal::Str(s))),
            Some(Token::Int(n)) => return Ok(Ast::Literal(Literal::Int(n))),
            Some(Token::Ident(w)) if w == "true" || w == "false" => {
                return Ok(Ast::Literal(Literal::Bool(w == "true")))
            }
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close)?;
                inner
            }
            Some(Token::Ident(name)) => self.invocation(Ast::This, name)?,
            other => return Err(format!("expected a path, found {other:?}")),
        };
        while self.peek() == Some(&Token::Dot) {
            self.at += 1;
            match self.next() {
                Some(Token::Ident(name)) => expr = self.invocation(expr, name)?,
                other => return Err(format!("expected a name after '.', found {other:?}")),
            }
        }
        Ok(expr)
    }

    fn invocation(&mut self, on: Ast, name: String) -> Result<Ast, String> {
        if self.peek() != Some(&Token::Open) {
            return Ok(if name == "$this" { on } else { Ast::Member(Box::new(on), name) });
        }
        self.at += 1;
        let argument = if self.peek() == Some(&Token::Close) { None } else { Some(Box::new(self.or()?)) };
        self.expect(Token::Close)?;
        let func = match (name.as_str(), argument) {
            ("exists", criteria) => Func::Exists(criteria),
            ("empty", None) => Func::Empty,
            ("not", None) => Func::Not,
            ("hasValue", None) => Func::HasValue,
            ("count", None) => Func::Count,
            ("where", Some(criteria)) => Func::Where(criteria),
            (other, _) => return Err(format!("function {other}() is not in the supported subset")),
        };
        Ok(Ast::Call(Box::new(on), func))
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(Ast);

impl Expr {
    /// Parses `expression`; anything outside the subset is an error.
    pub fn parse(expression: &str) -> Result<Self, FhirPathError> {
        let fail = |problem: String| FhirPathError { expression: expression.to_owned(), problem };
        let mut parser = Parser { tokens: tokenize(expression).map_err(fail)?, at: 0 };
        let expr = parser.or().map_err(fail)?;
        if parser.at != parser.tokens.len() {
            return Err(fail(format!("unexpected {:?}", parser.peek())));
        }
        Ok(Self(expr))
    }

    /// Whether the expression is true for `context` (a constraint passes only on a single `true`).
    pub fn holds(&self, context: &Json<'_>) -> bool {
        self.0.test(&[Item::Json(context)])
    }
}

impl Ast {
    fn eval<'a>(&'a self, input: &[Item<'a>]) -> Items<'a> {
        match self {
            Self::This => input.iter().cloned().collect(),
            Self::Literal(Literal::Str(s)) => smallvec![Item::Str(s)],
            Self::Literal(Literal::Int(n)) => smallvec![Item::Int(*n)],
            Self::Literal(Literal::Bool(b)) => smallvec![Item::Bool(*b)],
            // A member of the context itself (`code`, `system`): no copy of the context first.
            Self::Member(on, name) if matches!(on.as_ref(), Self::This) => {
                input.iter().flat_map(|item| member(item, name)).collect()
            }
            Self::Member(on, name) => on.eval(input).iter().flat_map(|item| member(item, name)).collect(),
            // Booleans come from `test`, which stops at the first match and builds no collections (the
            // `X.where(c).exists()` of every "a section with this code" rule).
            Self::Call(_, Func::Exists(None) | Func::Empty) | Self::And(..) | Self::Or(..) => {
                smallvec![Item::Bool(self.test(input))]
            }
            Self::Call(on, func) => {
                let items = on.eval(input);
                match func {
                    Func::Exists(None) | Func::Empty => unreachable!("answered by test above"),
                    Func::Exists(Some(criteria)) => {
                        smallvec![Item::Bool(
                            items.iter().any(|item| truthy(&criteria.eval(std::slice::from_ref(item))))
                        )]
                    }
                    Func::Not => match items.as_slice() {
                        [Item::Bool(b)] => smallvec![Item::Bool(!b)],
                        _ => Items::new(),
                    },
                    Func::HasValue => smallvec![Item::Bool(matches!(
                        items.as_slice(),
                        [Item::Json(Json::Str(_) | Json::Number(_) | Json::Bool(_))]
                    ))],
                    Func::Count => smallvec![Item::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))],
                    Func::Where(criteria) => {
                        items.into_iter().filter(|item| truthy(&criteria.eval(std::slice::from_ref(item)))).collect()
                    }
                }
            }
            Self::Compare(a, op, b) => match (a.scalar(input), b.scalar(input)) {
                (Some(x), Some(y)) => compare(&x, *op, &y).map(Item::Bool).into_iter().collect(),
                _ => Items::new(),
            },
        }
    }
}

impl Ast {
    /// Whether `self` is a single `true`: [`Ast::eval`] then [`truthy`], without building the
    /// collections a boolean does not need. Every constraint is evaluated this way, on every element it
    /// sits on, so its cost is what a handover's validation costs beyond the base walk.
    fn test<'a>(&'a self, input: &[Item<'a>]) -> bool {
        match self {
            Self::And(a, b) => a.test(input) && b.test(input),
            Self::Or(a, b) => a.test(input) || b.test(input),
            Self::Compare(a, op, b) => match (a.scalar(input), b.scalar(input)) {
                (Some(x), Some(y)) => compare(&x, *op, &y) == Some(true),
                _ => false,
            },
            Self::Call(on, Func::Exists(None)) => match on.as_ref() {
                Self::Call(items, Func::Where(criteria)) => {
                    items.any(input, &mut |item| criteria.test(std::slice::from_ref(item)))
                }
                _ => on.any(input, &mut |_| true),
            },
            Self::Call(on, Func::Empty) => !on.any(input, &mut |_| true),
            _ => truthy(&self.eval(input)),
        }
    }

    /// Whether `f` holds for some item `self` yields, visiting paths (`section.section`) item by item
    /// instead of collecting them; stops at the first.
    fn any<'a>(&'a self, input: &[Item<'a>], f: &mut dyn FnMut(&Item<'a>) -> bool) -> bool {
        match self {
            Self::This => input.iter().any(&mut *f),
            Self::Member(on, name) => on.any(input, &mut |item| member_any(item, name, f)),
            _ => self.eval(input).iter().any(f),
        }
    }

    /// The single value `self` yields, if it yields exactly one primitive: what a comparison compares.
    /// Literals and a member of the context are read directly (the `system = '...'` of every coding
    /// rule), without building a collection; anything else is evaluated.
    fn scalar<'a>(&'a self, input: &[Item<'a>]) -> Option<Scalar<'a>> {
        match (self, input) {
            (Self::Literal(Literal::Str(s)), _) => Some(Scalar::Str(s)),
            (Self::Literal(Literal::Int(n)), _) => Some(Scalar::Num(*n as f64)),
            (Self::Literal(Literal::Bool(b)), _) => Some(Scalar::Bool(*b)),
            (Self::Member(on, name), [Item::Json(Json::Object(map))]) if matches!(on.as_ref(), Self::This) => {
                match map.get(name.as_str()) {
                    Some(Json::Array(items)) => match items.as_slice() {
                        [one] => scalar(&[Item::Json(one)]),
                        _ => None,
                    },
                    Some(value) => scalar(&[Item::Json(value)]),
                    // `value` may stand for `valueString` & co: the general path knows choice members.
                    None => scalar(&self.eval(input)),
                }
            }
            _ => scalar(&self.eval(input)),
        }
    }
}

#[derive(Debug, Clone)]
enum Item<'a> {
    Json(&'a Json<'a>),
    Bool(bool),
    Int(i64),
    Str(&'a str),
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
}

fn truthy(items: &[Item<'_>]) -> bool {
    matches!(items, [Item::Bool(true)] | [Item::Json(Json::Bool(true))])
}

fn scalar<'a>(items: &[Item<'a>]) -> Option<Scalar<'a>> {
    match items {
        [Item::Str(s)] => Some(Scalar::Str(s)),
        [Item::Json(Json::Str(s))] => Some(Scalar::Str(s)),
        [Item::Int(n)] => Some(Scalar::Num(*n as f64)),
        [Item::Json(Json::Number(n))] => n.as_f64().map(Scalar::Num),
        [Item::Bool(b)] | [Item::Json(Json::Bool(b))] => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

fn compare(x: &Scalar<'_>, op: Op, y: &Scalar<'_>) -> Option<bool> {
    let ordering = match (x, y) {
        (Scalar::Str(a), Scalar::Str(b)) => a.cmp(b),
        (Scalar::Num(a), Scalar::Num(b)) => a.partial_cmp(b)?,
        (Scalar::Bool(a), Scalar::Bool(b)) => a.cmp(b),
        _ => return Some(op == Op::Ne),
    };
    Some(match op {
        Op::Eq => ordering.is_eq(),
        Op::Ne => !ordering.is_eq(),
        Op::Gt => ordering.is_gt(),
        Op::Ge => ordering.is_ge(),
        Op::Lt => ordering.is_lt(),
        Op::Le => ordering.is_le(),
    })
}

/// [`member`] as [`Ast::any`] visits it: whether `f` holds for one of the children named `name`.
fn member_any<'a>(item: &Item<'a>, name: &str, f: &mut dyn FnMut(&Item<'a>) -> bool) -> bool {
    let Item::Json(Json::Object(map)) = item else { return false };
    match map.get(name) {
        Some(Json::Array(items)) => items.iter().any(|json| f(&Item::Json(json))),
        Some(Json::Null) => false,
        Some(value) => f(&Item::Json(value)),
        // A choice member (`value` for `valueString`): the general path.
        None => member(item, name).iter().any(f),
    }
}

/// The children named `name` of a JSON object, arrays flattened; `value` also matches `value[x]`.
fn member<'a>(item: &Item<'a>, name: &str) -> Items<'a> {
    let Item::Json(Json::Object(map)) = item else { return Items::new() };
    let found = map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| {
                key.strip_prefix(name).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            })
            .map(|(_, v)| v)
    });
    match found {
        Some(Json::Array(items)) => items.iter().map(Item::Json).collect(),
        Some(Json::Null) | None => Items::new(),
        Some(value) => smallvec![Item::Json(value)],
    }
}

#[cfg(test)]
mod tests {
    use super::Expr;
    use serde_json::json;

    fn holds(expression: &str, context: serde_json::Value) -> bool {
        let text = context.to_string();
        Expr::parse(expression).unwrap().holds(&crate::json::parse(&text).unwrap())
    }

    #[test]
    fn the_section_rule_wants_entries_or_an_empty_reason() {
        let rule = "entry.exists() or emptyReason.exists()";
        assert!(holds(rule, json!({ "entry": [{ "reference": "urn:uuid:1" }] })));
        assert!(holds(rule, json!({ "emptyReason": { "text": "none" } })));
        assert!(!holds(rule, json!({ "entry": [] })));
        assert!(!holds(rule, json!({ "title": "Medication" })));
    }

    #[test]
    fn where_filters_and_exists_tests_the_result() {
        let rule = "identifier.where(system = 'urn:bsn' or system = 'urn:ssin').exists()";
        assert!(holds(rule, json!({ "identifier": [{ "system": "x" }, { "system": "urn:ssin", "value": "1" }] })));
        assert!(!holds(rule, json!({ "identifier": [{ "system": "x" }] })));
        assert!(!holds(rule, json!({})));
    }

    #[test]
    fn nested_paths_counts_comparisons_and_not() {
        assert!(holds("period.start.exists()", json!({ "period": { "start": "2026-01-01" } })));
        assert!(!holds("period.start.exists()", json!({ "period": { "end": "2026-01-01" } })));
        assert!(holds("name.count() >= 2", json!({ "name": [{}, {}] })));
        assert!(!holds("name.count() >= 2", json!({ "name": [{}] })));
        assert!(holds("status = 'final'", json!({ "status": "final" })));
        assert!(holds("(status = 'final').not() or code.exists()", json!({ "status": "final", "code": {} })));
        assert!(holds("reasonCode.exists() or reasonReference.exists()", json!({ "reasonReference": [{}] })));
        assert!(holds("value.hasValue()", json!({ "valueString": "x" })));
        assert!(holds(
            "section.where(code.coding.where(code = '8648-8').exists()).exists()",
            json!({ "section": [{ "code": { "coding": [{ "code": "8648-8" }] } }] })
        ));
    }

    #[test]
    fn expressions_outside_the_subset_are_refused() {
        assert!(Expr::parse("entry.resolve().exists()").is_err());
        assert!(Expr::parse("a |").is_err());
        assert!(Expr::parse("'open").is_err());
        assert!(Expr::parse("a.b c").is_err());
    }
}

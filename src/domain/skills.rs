//! R27 skills: agents have skills with a level, queues require skills with a minimum level;
//! only an agent with all of a queue's required skills is eligible for its offers (R2).

use super::input::InvalidInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Levels run from 1 (a beginner) to 10.
pub const MIN_LEVEL: u8 = 1;
pub const MAX_LEVEL: u8 = 10;
/// Longest skill name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Most skills an agent has, or a queue requires.
pub const MAX_SKILLS: usize = 50;

/// One of an agent's skills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Skill {
    /// 1 to 64 characters; matched without regard to case.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(minimum = 1, maximum = 10)]
    pub level: u8,
}

/// A skill a queue requires, at `min_level` or above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequiredSkill {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(minimum = 1, maximum = 10)]
    pub min_level: u8,
}

/// Whether `skills` meet every one of `required`.
pub fn qualifies(skills: &[Skill], required: &[RequiredSkill]) -> bool {
    required.iter().all(|r| {
        skills
            .iter()
            .any(|s| s.level >= r.min_level && same_name(&s.name, &r.name))
    })
}

/// Names match without regard to case (without allocating when both are ASCII).
fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// A list as asked for: names trimmed; checked (1 to 64 characters, levels 1 to 10, no name
/// twice, at most 50). `field` names the list in the error.
fn checked<T>(
    field: &str,
    items: Vec<T>,
    parts: impl Fn(&mut T) -> (&mut String, u8),
) -> Result<Vec<T>, InvalidInput> {
    if items.len() > MAX_SKILLS {
        return Err(InvalidInput(format!(
            "{field} has more than {MAX_SKILLS} skills"
        )));
    }
    let mut seen = Vec::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        let (name, level) = parts(&mut item);
        *name = name.trim().to_string();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(InvalidInput(format!(
                "{field}[{i}].name must be 1 to {MAX_NAME_CHARS} characters, not blank"
            )));
        }
        if !(MIN_LEVEL..=MAX_LEVEL).contains(&level) {
            return Err(InvalidInput(format!(
                "{field}[{i}]: the level must be {MIN_LEVEL} to {MAX_LEVEL}"
            )));
        }
        let key = name.to_lowercase();
        if seen.contains(&key) {
            return Err(InvalidInput(format!(
                "{field} names the skill `{name}` twice"
            )));
        }
        seen.push(key);
        out.push(item);
    }
    Ok(out)
}

/// An agent's skills as asked for, checked.
pub fn check_skills(skills: Vec<Skill>) -> Result<Vec<Skill>, InvalidInput> {
    checked("skills", skills, |s| (&mut s.name, s.level))
}

/// A queue's required skills as asked for, checked.
pub fn check_required(required: Vec<RequiredSkill>) -> Result<Vec<RequiredSkill>, InvalidInput> {
    checked("required_skills", required, |s| (&mut s.name, s.min_level))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, level: u8) -> Skill {
        Skill {
            name: name.into(),
            level,
        }
    }

    fn r(name: &str, min_level: u8) -> RequiredSkill {
        RequiredSkill {
            name: name.into(),
            min_level,
        }
    }

    #[test]
    fn an_agent_needs_every_required_skill_at_its_level() {
        let agent = [s("Spanish", 7), s("billing", 3)];
        assert!(qualifies(&agent, &[]));
        assert!(
            qualifies(&agent, &[r("spanish", 7)]),
            "the level is a minimum"
        );
        assert!(
            !qualifies(&agent, &[r("spanish", 8)]),
            "one below the level"
        );
        assert!(qualifies(&agent, &[r("SPANISH", 1), r("billing", 3)]));
        assert!(!qualifies(&agent, &[r("spanish", 1), r("french", 1)]));
        assert!(!qualifies(&[], &[r("spanish", 1)]));
        assert!(qualifies(&[s("Français", 2)], &[r("FRANÇAIS", 2)]));
    }

    #[test]
    fn lists_are_checked() {
        assert_eq!(
            check_skills(vec![s("  spanish ", 5)]).unwrap(),
            vec![s("spanish", 5)]
        );
        assert!(check_skills(vec![s("a", 0)]).is_err());
        assert!(check_skills(vec![s("a", 11)]).is_err());
        assert!(check_skills(vec![s(" ", 1)]).is_err());
        assert!(check_skills(vec![s(&"x".repeat(65), 1)]).is_err());
        let e = check_skills(vec![s("Spanish", 1), s("spanish", 2)]).unwrap_err();
        assert!(e.0.contains("twice"), "{e}");
        assert!(check_required(vec![r("a", 10), r("b", 1)]).is_ok());
        let many: Vec<Skill> = (0..51).map(|i| s(&format!("s{i}"), 1)).collect();
        assert!(check_skills(many).is_err());
    }
}

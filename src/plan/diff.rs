//! Attribute comparison with the normalisations AWS needs: policies compared as documents,
//! KMS keys by key id whatever ARN form names them, tags as maps.

use serde_json::Value;

use crate::blueprint::schema::Type;

/// Whether an actual value already satisfies the desired one.
pub fn same(ty: &Type, actual: &Value, desired: &Value) -> bool {
    // Equal values need no normalising: the common case of a converged plan.
    if actual == desired {
        return true;
    }
    match ty {
        Type::Json | Type::PolicyMap => canonical_policy(actual) == canonical_policy(desired),
        Type::Ref("kms_key") => match (actual.as_str(), desired.as_str()) {
            (Some(a), Some(d)) => key_id(a) == key_id(d),
            _ => actual == desired,
        },
        // Lists of names (features, regions) are sets: order carries no meaning.
        Type::StrList(_) | Type::RefList(_) => match (actual.as_array(), desired.as_array()) {
            (Some(a), Some(d)) => {
                let mut a: Vec<String> = a.iter().map(Value::to_string).collect();
                let mut d: Vec<String> = d.iter().map(Value::to_string).collect();
                a.sort();
                a.dedup();
                d.sort();
                d.dedup();
                a == d
            }
            _ => actual == desired,
        },
        _ => actual == desired,
    }
}

/// The key id in a key ARN (`arn:aws:kms:r:a:key/ID`) or a bare id.
pub fn key_id(key: &str) -> &str {
    key.rsplit_once(":key/").map_or(key, |(_, id)| id)
}

/// A policy document in a form where equivalent documents are equal: one-element lists
/// become scalars, lists are sorted (statement and action order carry no meaning), and
/// object keys are sorted by serde_json's map.
pub fn canonical_policy(doc: &Value) -> Value {
    match doc {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(canonical_policy).collect();
            items.sort_by_cached_key(|v| v.to_string());
            items.dedup();
            if items.len() == 1 {
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), canonical_policy(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reordered_policies_are_the_same() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:Delete*", "Resource": ["*"]}]});
        let b = json!({"Statement": [
            {"Resource": "*", "Action": "kms:Delete*", "Effect": "Deny"},
            {"Action": ["kms:Encrypt", "kms:Decrypt"], "Effect": "Allow", "Resource": ["*"]}],
            "Version": "2012-10-17"});
        assert!(same(&Type::Json, &a, &b));
        let c = json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
        assert!(!same(&Type::Json, &a, &c));
    }

    #[test]
    fn name_lists_compare_as_sets() {
        let ty = Type::StrList(None);
        assert!(same(&ty, &json!(["B", "A"]), &json!(["A", "B"])));
        assert!(!same(&ty, &json!(["A"]), &json!(["A", "B"])));
    }

    #[test]
    fn keys_compare_by_id_across_arn_forms() {
        let arn = json!("arn:aws:kms:eu-west-1:123456789012:key/1234-abcd");
        assert!(same(&Type::Ref("kms_key"), &json!("1234-abcd"), &arn));
        assert!(!same(&Type::Ref("kms_key"), &json!("9999"), &arn));
        assert!(!same(&Type::Ref("kms_key"), &Value::Null, &arn));
    }
}

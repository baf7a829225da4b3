//! Finding the trail prefixes of a bucket: `AWSLogs/<account>/CloudTrail/<region>/` for an
//! account trail, `AWSLogs/<o-org>/<account>/CloudTrail/<region>/` for an organization trail,
//! below the trail's own key prefix if it has one.
//!
//! The walk lists one level at a time (ListObjectsV2 with `/` as delimiter) and goes down only
//! into what can lead to a trail prefix (`AWSLogs`, organization ids, account ids,
//! `CloudTrail`), so its cost grows with accounts and regions, never with objects. Digest
//! (`CloudTrail-Digest/`) and other log folders are never entered. A `*` segment in the base
//! prefix stands for any one segment.

use super::{S3Error, TrailBucket};

/// One `.../CloudTrail/<region>/` prefix: listed on its own, with its own cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailPrefix {
    /// Ends with `/`.
    pub prefix: String,
    /// The account segment before `CloudTrail`, when it is one.
    pub account: Option<String>,
    pub region: String,
}

impl TrailPrefix {
    /// The trail prefix `prefix` is, if it has the shape `.../CloudTrail/<region>/`.
    pub fn parse(prefix: &str) -> Option<TrailPrefix> {
        let segments: Vec<&str> = prefix.strip_suffix('/')?.split('/').collect();
        match segments.as_slice() {
            [.., before, "CloudTrail", region] if !region.is_empty() => Some(TrailPrefix {
                prefix: prefix.to_owned(),
                account: is_account_id(before).then(|| (*before).to_owned()),
                region: (*region).to_owned(),
            }),
            _ => None,
        }
    }
}

/// Which accounts and regions to keep; empty lists keep everything.
#[derive(Clone, Debug, Default)]
pub struct DiscoverFilter {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl DiscoverFilter {
    fn keeps_account(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    fn keeps_region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }
}

/// How deep below the base prefix the walk goes: `AWSLogs/o-org/account/CloudTrail/region/`
/// is five levels.
const MAX_DEPTH: usize = 6;

/// The trail prefixes below `base` (`AWSLogs/` for a trail without key prefix), sorted.
pub async fn discover(
    bucket: &TrailBucket,
    base: &str,
    filter: &DiscoverFilter,
) -> Result<Vec<TrailPrefix>, S3Error> {
    let mut found = Vec::new();
    for start in expand_wildcards(bucket, base).await? {
        walk(bucket, start, filter, &mut found).await?;
    }
    found.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    found.dedup();
    Ok(found)
}

/// The prefixes `base` stands for once each `*` segment is replaced by the segments present.
async fn expand_wildcards(bucket: &TrailBucket, base: &str) -> Result<Vec<String>, S3Error> {
    let mut prefixes = vec![String::new()];
    for segment in base.split('/').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for prefix in prefixes {
            if segment == "*" {
                next.extend(list_children(bucket, &prefix).await?);
            } else {
                next.push(format!("{prefix}{segment}/"));
            }
        }
        prefixes = next;
    }
    Ok(prefixes)
}

async fn walk(
    bucket: &TrailBucket,
    start: String,
    filter: &DiscoverFilter,
    found: &mut Vec<TrailPrefix>,
) -> Result<(), S3Error> {
    let mut pending = vec![(start, 0)];
    while let Some((prefix, depth)) = pending.pop() {
        if let Some(trail) = TrailPrefix::parse(&prefix) {
            if filter.keeps_region(&trail.region)
                && trail
                    .account
                    .as_deref()
                    .is_none_or(|a| filter.keeps_account(a))
            {
                found.push(trail);
            }
            continue;
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        for child in list_children(bucket, &prefix).await? {
            let segment = last_segment(&child);
            let under_cloudtrail = last_segment(&prefix) == "CloudTrail";
            let worth_entering = under_cloudtrail
                || segment == "AWSLogs"
                || segment == "CloudTrail"
                || is_organization_id(segment)
                || (is_account_id(segment) && filter.keeps_account(segment));
            if worth_entering {
                pending.push((child, depth + 1));
            }
        }
    }
    Ok(())
}

/// The common prefixes one level below `prefix`, every page of them.
pub async fn list_children(bucket: &TrailBucket, prefix: &str) -> Result<Vec<String>, S3Error> {
    let mut children = Vec::new();
    let mut token = None;
    loop {
        bucket.count_list_request();
        let page = bucket
            .client
            .list_objects_v2()
            .bucket(&bucket.bucket)
            .prefix(prefix)
            .delimiter("/")
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| bucket.error("list", prefix, e))?;
        children.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return Ok(children);
        }
    }
}

fn last_segment(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

pub(crate) fn is_account_id(segment: &str) -> bool {
    segment.len() == 12 && segment.bytes().all(|b| b.is_ascii_digit())
}

fn is_organization_id(segment: &str) -> bool {
    segment.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_prefixes_are_recognised_with_and_without_organization() {
        let account = TrailPrefix::parse("AWSLogs/111122223333/CloudTrail/us-east-1/").unwrap();
        assert_eq!(account.account.as_deref(), Some("111122223333"));
        assert_eq!(account.region, "us-east-1");
        let org =
            TrailPrefix::parse("trail/AWSLogs/o-abcdef1234/111122223333/CloudTrail/eu-west-1/")
                .unwrap();
        assert_eq!(org.account.as_deref(), Some("111122223333"));
        assert_eq!(org.region, "eu-west-1");
        assert_eq!(TrailPrefix::parse("AWSLogs/111122223333/CloudTrail/"), None);
        assert_eq!(
            TrailPrefix::parse("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/"),
            None
        );
    }

    #[test]
    fn organization_and_account_ids() {
        assert!(is_organization_id("o-abcdef1234"));
        assert!(!is_organization_id("o-ABC"));
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333"));
    }
}

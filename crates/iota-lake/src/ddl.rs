//! Athena / Glue `CREATE EXTERNAL TABLE` statements for the lake's tables ([`crate::TABLES`]):
//! the OpenX JSON SerDe over the gzip JSON lines, and partition projection on
//! `year`/`month`/`day`/`hour`, so that new hours are queryable without `MSCK REPAIR TABLE` or
//! a crawler.

use std::fmt::Write;

use crate::layout::table_name;
use crate::tables::{Table, P_FIELDS, TABLES};

/// First year the projection covers (CloudTrail was launched in 2013).
const FIRST_YEAR: u32 = 2013;
/// Last year the projection covers.
const LAST_YEAR: u32 = 2099;

/// One statement per table, each ending with `;`, for a lake at `location`
/// (`s3://bucket/prefix`), in database `database`.
pub fn create_tables(database: &str, location: &str) -> String {
    TABLES
        .iter()
        .map(|table| create_table(database, location, table))
        .collect::<Vec<_>>()
        .join("\n")
}

fn create_table(database: &str, location: &str, table: &Table) -> String {
    let name = table_name(table.log_type);
    let root = format!("{}/logs/{name}", location.trim_end_matches('/'));
    let columns: Vec<String> = table
        .columns
        .iter()
        .chain(P_FIELDS)
        .map(|(column, kind)| format!("  `{column}` {kind}"))
        .collect();
    let mut ddl = String::new();
    let _ = writeln!(ddl, "-- {} events", table.log_type);
    let _ = writeln!(
        ddl,
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}` ("
    );
    let _ = writeln!(ddl, "{}", columns.join(",\n"));
    let _ = writeln!(ddl, ")");
    let _ = writeln!(
        ddl,
        "PARTITIONED BY (`year` string, `month` string, `day` string, `hour` string)"
    );
    let _ = writeln!(ddl, "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'");
    let _ = writeln!(
        ddl,
        "WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true', 'case.insensitive' = 'true')"
    );
    let _ = writeln!(
        ddl,
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'"
    );
    let _ = writeln!(
        ddl,
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
    );
    let _ = writeln!(ddl, "LOCATION '{root}/'");
    let _ = writeln!(ddl, "TBLPROPERTIES (");
    let mut properties = vec![("projection.enabled".to_owned(), "true".to_owned())];
    for (key, range, digits) in [
        ("year", format!("{FIRST_YEAR},{LAST_YEAR}"), 4),
        ("month", "1,12".to_owned(), 2),
        ("day", "1,31".to_owned(), 2),
        ("hour", "0,23".to_owned(), 2),
    ] {
        properties.push((format!("projection.{key}.type"), "integer".to_owned()));
        properties.push((format!("projection.{key}.range"), range));
        properties.push((format!("projection.{key}.digits"), digits.to_string()));
    }
    properties.push((
        "storage.location.template".to_owned(),
        format!("{root}/year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/"),
    ));
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("  '{key}' = '{value}'"))
        .collect();
    let _ = writeln!(ddl, "{}", properties.join(",\n"));
    let _ = writeln!(ddl, ");");
    ddl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_is_created_with_its_location_and_projection() {
        let ddl = create_tables("security", "s3://lake-bucket/iota/");
        assert_eq!(ddl.matches("CREATE EXTERNAL TABLE").count(), TABLES.len());
        assert!(ddl.contains("`security`.`aws_cloudtrail`"));
        assert!(ddl.contains("LOCATION 's3://lake-bucket/iota/logs/aws_cloudtrail/'"));
        assert!(ddl.contains(
            "'storage.location.template' = 's3://lake-bucket/iota/logs/aws_cloudtrail/year=${year}/month=${month}/day=${day}/hour=${hour}/'"
        ));
        assert!(ddl.contains("`eventname` string"));
        assert!(ddl.contains("`p_any_aws_arns` array<string>"));
    }
}

//! The lake's tables, one per log type, and their columns as Athena (Hive DDL) types: the one
//! list `iota lake ddl` reads. A new log type adds its entry to [`TABLES`] with the columns of
//! its own fields; every table also gets the `p_` standard fields ([`P_FIELDS`]).
//!
//! Nested objects whose shape varies by API call (`requestParameters`, `responseElements`,
//! ...) are declared `string`: the OpenX JSON SerDe returns them as JSON text, to be read
//! with `json_extract`. Columns are lowercase; the SerDe matches JSON keys without regard to
//! case. Keys that no column declares are ignored by the SerDe and stay in the files.

/// One column: name and Hive type.
pub type Column = (&'static str, &'static str);

pub struct Table {
    /// The `p_log_type` of its events.
    pub log_type: &'static str,
    /// The log type's own fields (the `p_` fields are added to every table).
    pub columns: &'static [Column],
}

/// Every log type iota writes to the lake.
pub const TABLES: &[Table] = &[
    Table {
        log_type: "AWS.CloudTrail",
        columns: CLOUDTRAIL,
    },
    Table {
        log_type: "AWS.CloudTrailInsight",
        columns: &[],
    },
    Table {
        log_type: "AWS.VPCFlow",
        columns: &[],
    },
    Table {
        log_type: "AWS.GuardDuty",
        columns: &[],
    },
    Table {
        log_type: "AWS.S3ServerAccess",
        columns: &[],
    },
    Table {
        log_type: "AWS.ALB",
        columns: &[],
    },
];

/// The fields iota adds to every event (SPEC 2).
pub const P_FIELDS: &[Column] = &[
    ("p_log_type", "string"),
    ("p_event_time", "timestamp"),
    ("p_parse_time", "timestamp"),
    ("p_row_id", "string"),
    ("p_source_id", "string"),
    ("p_source_label", "string"),
    ("p_any_ip_addresses", "array<string>"),
    ("p_any_aws_account_ids", "array<string>"),
    ("p_any_aws_arns", "array<string>"),
    ("p_any_aws_instance_ids", "array<string>"),
    ("p_any_domain_names", "array<string>"),
    ("p_any_usernames", "array<string>"),
];

/// CloudTrail record fields (the CloudTrail record contents reference).
const CLOUDTRAIL: &[Column] = &[
    ("eventversion", "string"),
    (
        "useridentity",
        "struct<type:string,principalid:string,arn:string,accountid:string,\
         invokedby:string,accesskeyid:string,username:string,onbehalfof:string,\
         identitystorearn:string,credentialid:string,\
         sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,\
         sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,\
         username:string>,ec2roledelivery:string,sourceidentity:string,\
         webidfederationdata:string>>",
    ),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("readonly", "boolean"),
    (
        "resources",
        "array<struct<arn:string,accountid:string,type:string>>",
    ),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("managementevent", "boolean"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("eventcategory", "string"),
    ("addendum", "string"),
    ("sessioncredentialfromconsole", "string"),
    ("edgedevicedetails", "string"),
    (
        "tlsdetails",
        "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>",
    ),
    ("insightdetails", "string"),
];

//! The standard objects, with Salesforce's field API names.

use crate::schema::{FieldType, ObjectBuilder as O, ObjectDef};

const LEAD_SOURCES: &[&str] = &["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
const INDUSTRIES: &[&str] = &[
    "Agriculture", "Banking", "Communications", "Education", "Energy", "Finance", "Government",
    "Healthcare", "Hospitality", "Insurance", "Manufacturing", "Media", "Retail", "Technology",
    "Telecommunications", "Transportation", "Utilities", "Other",
];
const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."];

fn address(b: O, prefix: &str) -> O {
    b.text(&format!("{prefix}Street"), &format!("{prefix} Street"), 255)
        .text(&format!("{prefix}City"), &format!("{prefix} City"), 40)
        .text(&format!("{prefix}State"), &format!("{prefix} State/Province"), 80)
        .text(&format!("{prefix}PostalCode"), &format!("{prefix} Zip/Postal Code"), 20)
        .text(&format!("{prefix}Country"), &format!("{prefix} Country"), 80)
}

fn person_name(b: O) -> O {
    b.picklist("Salutation", "Salutation", SALUTATIONS)
        .text("FirstName", "First Name", 40)
        .text("LastName", "Last Name", 80)
        .required()
        .text("Name", "Full Name", 121)
        .read_only()
        .indexed()
}

pub(crate) fn objects() -> Vec<ObjectDef> {
    let mut all = vec![account(), contact(), lead(), case(), opportunity(), user(), call_center(), voice_call(), voice_call_recording(), conversation_entry(), task(), user_service_presence(), adapter_error_log()];
    all.extend(routing());
    all.extend(flows());
    all
}

/// Record-triggered automation: `Flow` (administered, Manage Flows) and
/// `FlowRun` (one per flow per change, written only by the runner).
pub const FLOW_OBJECTS: &[&str] = &["Flow", "FlowRun"];

fn flows() -> Vec<ObjectDef> {
    vec![
        O::new("Flow", "Flow", "Flows", "300", false)
            .text("Name", "Name", 80)
            .required()
            .indexed()
            .text("Object", "Object", 80)
            .required()
            .picklist("TriggerType", "Runs When", &["Created", "Updated", "CreatedOrUpdated", "FieldChangedTo", "Threshold"])
            .restricted()
            .required()
            .text("TriggerField", "Field", 80)
            .text("TriggerValue", "Changed To", 255)
            .add(FieldType::LongTextArea, "Condition", "Condition (SOQL WHERE)", 4000)
            .add(FieldType::LongTextArea, "Actions", "Actions (JSON)", 131072)
            .add(FieldType::Int, "ExecutionOrder", "Order", 0)
            .default(crate::Value::Int(100))
            .boolean("IsActive", "Active")
            .default(crate::Value::Bool(true))
            .add(FieldType::LongTextArea, "Description", "Description", 32000)
            .add(FieldType::LongTextArea, "Numerator", "Threshold: Records Counted (SOQL WHERE)", 4000)
            .add(FieldType::LongTextArea, "Denominator", "Threshold: Out Of (SOQL WHERE)", 4000)
            .text("WindowField", "Threshold: Window Field (DateTime)", 80)
            .add(FieldType::Int, "WindowMinutes", "Threshold: Window (Minutes)", 0)
            .add(FieldType::Percent, "ThresholdPercent", "Threshold (%)", 0)
            .add(FieldType::Int, "MinimumCount", "Threshold: Minimum Records", 0)
            .add(FieldType::Int, "CooldownMinutes", "Threshold: Cooldown (Minutes)", 0)
            .build(),
        O::new("FlowRun", "Flow Run", "Flow Runs", "0Fo", false)
            .reference("FlowId", "Flow ID", &["Flow"])
            .indexed()
            .text("FlowName", "Flow", 80)
            .text("RecordId", "Record ID", 18)
            .indexed()
            .text("Object", "Object", 80)
            .add(FieldType::Int, "ChangeSeq", "Change Number", 0)
            .picklist("Status", "Status", &["Running", "Succeeded", "Failed", "Retrying", "Parked", "Skipped"])
            .restricted()
            .indexed()
            .add(FieldType::Int, "Attempts", "Attempts", 0)
            .add(FieldType::Int, "ActionsDone", "Actions Done", 0)
            .add(FieldType::Int, "Depth", "Chain Depth", 0)
            .add(FieldType::LongTextArea, "LastError", "Last Error", 32000)
            .add(FieldType::DateTime, "NextAttemptDateTime", "Next Attempt", 0)
            .indexed()
            .add(FieldType::DateTime, "StartedDateTime", "Started", 0)
            .add(FieldType::DateTime, "LeaseExpiresDateTime", "Lease Expires", 0)
            .add(FieldType::DateTime, "FinishedDateTime", "Finished", 0)
            .add(FieldType::LongTextArea, "Detail", "Detail", 32000)
            .build(),
    ]
}

/// The routing configuration's objects (Omni-Channel's), administered as
/// records. References between them are by name (so one file can be imported
/// in one transaction); references to users and call centers are ids.
pub const ROUTING_OBJECTS: &[&str] = &["ServiceChannel", "ServicePresenceStatus", "Skill", "BusinessHours", "Holiday", "QueueRoutingConfig", "Queue", "ServiceResource", "RoutingRule"];

fn routing() -> Vec<ObjectDef> {
    let named = |name: &str, label: &str, plural: &str, prefix: &str| {
        O::new(name, label, plural, prefix, false).text("DeveloperName", "Name (API)", 80).required().indexed().text("MasterLabel", "Label", 80)
    };
    let mut hours = O::new("BusinessHours", "Business Hours", "Business Hours", "01m", false)
        .text("Name", "Name", 80)
        .required()
        .indexed()
        .text("TimeZone", "Time Zone (America/New_York, UTC or ±HH:MM)", 40)
        .default_text("UTC");
    for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] {
        hours = hours.text(&format!("{day}StartTime"), &format!("{day} Start (HH:MM)"), 5).text(&format!("{day}EndTime"), &format!("{day} End (HH:MM)"), 5);
    }
    vec![
        named("ServiceChannel", "Service Channel", "Service Channels", "0N1")
            .add(FieldType::Int, "CapacityWeight", "Capacity Weight", 0)
            .default(crate::Value::Int(1))
            .build(),
        named("ServicePresenceStatus", "Presence Status", "Presence Statuses", "0N5").text("Channels", "Channels it opens (semicolon-separated)", 255).build(),
        named("Skill", "Skill", "Skills", "0C5").build(),
        hours.build(),
        O::new("Holiday", "Holiday", "Holidays", "0C0", false)
            .text("Name", "Name", 80)
            .required()
            .add(FieldType::Date, "ActivityDate", "Date", 0)
            .required()
            .text("BusinessHoursName", "Business Hours", 80)
            .required()
            .build(),
        named("QueueRoutingConfig", "Routing Configuration", "Routing Configurations", "0K3")
            .add(FieldType::Int, "RoutingPriority", "Routing Priority", 0)
            .default(crate::Value::Int(1))
            .picklist("RoutingModel", "Routing Model", &["LongestIdle", "MostAvailable", "LeastActive"])
            .restricted()
            .default_text("LongestIdle")
            .add(FieldType::Int, "CapacityWeight", "Units of Capacity", 0)
            .add(FieldType::Int, "PushTimeout", "Push Timeout (Seconds)", 0)
            .default(crate::Value::Int(30))
            .add(FieldType::Int, "OverflowAfterSeconds", "Overflow After (Seconds)", 0)
            .text("OverflowTarget", "Overflow To (queue:NAME, voicemail, callback)", 120)
            .text("WhenNobodySignedIn", "When Nobody Is Signed In (queue:NAME, voicemail, callback)", 120)
            .text("BusinessHoursName", "Business Hours", 80)
            .text("AfterHoursTarget", "After Hours (queue:NAME, voicemail, callback)", 120)
            .build(),
        O::new("Queue", "Queue", "Queues", "00G", false)
            .text("Name", "Name", 80)
            .required()
            .indexed()
            .text("ServiceChannel", "Service Channel", 80)
            .default_text("voice")
            .text("RoutingConfigName", "Routing Configuration", 80)
            .reference("CallCenterId", "Default Queue of Call Center", &["CallCenter"])
            .build(),
        O::new("ServiceResource", "Service Resource", "Service Resources", "0Hn", false)
            .reference("RelatedRecordId", "User", &["User"])
            .required()
            .indexed()
            .boolean("IsActive", "Active")
            .default(crate::Value::Bool(true))
            .add(FieldType::Int, "Capacity", "Capacity", 0)
            .default(crate::Value::Int(1))
            .text("ChannelCapacities", "Capacity per Channel (voice=1;chat=3)", 255)
            .text("Skills", "Skills (spanish:5;billing:3)", 1000)
            .text("Queues", "Queues (semicolon-separated)", 1000)
            .build(),
        O::new("RoutingRule", "Routing Rule", "Routing Rules", "0Rr", false)
            .text("Name", "Name", 80)
            .required()
            .add(FieldType::Int, "SortOrder", "Order", 0)
            .default(crate::Value::Int(100))
            .reference("CallCenterId", "Call Center", &["CallCenter"])
            .text("DialledNumber", "Dialled Number", 40)
            .text("IvrChoice", "IVR Choice", 40)
            .text("RecordField", "Caller's Record Field (Account.Rating)", 80)
            .text("RecordValue", "Caller's Record Value", 255)
            .text("QueueName", "Queue", 80)
            .text("Skills", "Skills Needed (spanish:3;vip:1@60)", 1000)
            .build(),
    ]
}

fn account() -> ObjectDef {
    let b = O::new("Account", "Account", "Accounts", "001", true)
        .text("Name", "Account Name", 255)
        .required()
        .indexed()
        .text("AccountNumber", "Account Number", 40)
        .picklist("Type", "Account Type", &["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"])
        .picklist("Industry", "Industry", INDUSTRIES)
        .picklist("Rating", "Account Rating", RATINGS)
        .picklist("AccountSource", "Account Source", LEAD_SOURCES)
        .reference("ParentId", "Parent Account ID", &["Account"])
        .phone("Phone", "Account Phone")
        .phone("Fax", "Account Fax")
        .add(FieldType::Url, "Website", "Website", 255)
        .add(FieldType::Currency, "AnnualRevenue", "Annual Revenue", 0)
        .add(FieldType::Int, "NumberOfEmployees", "Employees", 0)
        .add(FieldType::LongTextArea, "Description", "Account Description", 32000);
    let b = address(address(b, "Billing"), "Shipping");
    // Person Account fields: an Account created with a LastName is a person.
    let b = b
        .add(FieldType::Boolean, "IsPersonAccount", "Is Person Account", 0)
        .read_only()
        .picklist("Salutation", "Salutation", SALUTATIONS)
        .text("FirstName", "First Name", 40)
        .text("LastName", "Last Name", 80)
        .add(FieldType::Email, "PersonEmail", "Email", 80)
        .phone("PersonMobilePhone", "Mobile")
        .phone("PersonHomePhone", "Home Phone")
        .phone("PersonOtherPhone", "Other Phone")
        .add(FieldType::Date, "PersonBirthdate", "Birthdate", 0)
        .boolean("PersonDoNotCall", "Do Not Call")
        .picklist("PersonLanguage__c", "Preferred Language", &["English", "French", "German", "Spanish", "Japanese", "Portuguese"]);
    address(b, "PersonMailing").build()
}

fn contact() -> ObjectDef {
    let b = person_name(O::new("Contact", "Contact", "Contacts", "003", true))
        .reference("AccountId", "Account ID", &["Account"])
        .text("Title", "Title", 128)
        .text("Department", "Department", 80)
        .add(FieldType::Email, "Email", "Email", 80)
        .indexed()
        .phone("Phone", "Business Phone")
        .phone("MobilePhone", "Mobile Phone")
        .phone("HomePhone", "Home Phone")
        .phone("OtherPhone", "Other Phone")
        .phone("Fax", "Business Fax")
        .phone("AssistantPhone", "Assistant Phone")
        .add(FieldType::Date, "Birthdate", "Birthdate", 0)
        .picklist("LeadSource", "Lead Source", LEAD_SOURCES)
        .reference("ReportsToId", "Reports To ID", &["Contact"])
        .boolean("DoNotCall", "Do Not Call")
        .boolean("HasOptedOutOfEmail", "Email Opt Out")
        .picklist("Language__c", "Preferred Language", &["English", "French", "German", "Spanish", "Japanese", "Portuguese"])
        .add(FieldType::LongTextArea, "Description", "Contact Description", 32000);
    address(b, "Mailing").build()
}

fn lead() -> ObjectDef {
    let b = person_name(O::new("Lead", "Lead", "Leads", "00Q", true))
        .text("Company", "Company", 255)
        .required()
        .text("Title", "Title", 128)
        .add(FieldType::Email, "Email", "Email", 80)
        .indexed()
        .phone("Phone", "Phone")
        .phone("MobilePhone", "Mobile Phone")
        .phone("Fax", "Fax")
        .picklist(
            "Status",
            "Status",
            &["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"],
        )
        .restricted()
        .default_text("Open - Not Contacted")
        .picklist("LeadSource", "Lead Source", LEAD_SOURCES)
        .picklist("Industry", "Industry", INDUSTRIES)
        .picklist("Rating", "Rating", RATINGS)
        .add(FieldType::Currency, "AnnualRevenue", "Annual Revenue", 0)
        .add(FieldType::Int, "NumberOfEmployees", "Employees", 0)
        .add(FieldType::Url, "Website", "Website", 255)
        .boolean("DoNotCall", "Do Not Call")
        .boolean("IsConverted", "Converted")
        .read_only()
        .reference("ConvertedAccountId", "Converted Account ID", &["Account"])
        .read_only()
        .reference("ConvertedContactId", "Converted Contact ID", &["Contact"])
        .read_only()
        .add(FieldType::Date, "ConvertedDate", "Converted Date", 0)
        .read_only()
        .add(FieldType::LongTextArea, "Description", "Description", 32000);
    address(b, "").build()
}

fn case() -> ObjectDef {
    O::new("Case", "Case", "Cases", "500", true)
        .add(FieldType::AutoNumber, "CaseNumber", "Case Number", 30)
        .read_only()
        .indexed()
        .text("Subject", "Subject", 255)
        .add(FieldType::LongTextArea, "Description", "Description", 32000)
        .picklist("Status", "Status", &["New", "Working", "Escalated", "Closed"])
        .restricted()
        .default_text("New")
        .picklist("Priority", "Priority", &["High", "Medium", "Low"])
        .default_text("Medium")
        .picklist("Origin", "Case Origin", &["Phone", "Email", "Web", "Chat"])
        .picklist("Type", "Case Type", &["Question", "Problem", "Feature Request", "Billing"])
        .picklist("Reason", "Case Reason", &["Installation", "Equipment Complexity", "Performance", "Breakdown", "Other"])
        .reference("AccountId", "Account ID", &["Account"])
        .reference("ContactId", "Contact ID", &["Contact"])
        .reference("ParentId", "Parent Case ID", &["Case"])
        .text("SuppliedName", "Web Name", 80)
        .add(FieldType::Email, "SuppliedEmail", "Web Email", 80)
        .phone("SuppliedPhone", "Web Phone")
        .boolean("IsClosed", "Closed")
        .read_only()
        .add(FieldType::DateTime, "ClosedDate", "Closed Date", 0)
        .read_only()
        .build()
}

fn opportunity() -> ObjectDef {
    O::new("Opportunity", "Opportunity", "Opportunities", "006", true)
        .text("Name", "Name", 120)
        .required()
        .indexed()
        .reference("AccountId", "Account ID", &["Account"])
        .picklist(
            "StageName",
            "Stage",
            &["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
        )
        .required()
        .add(FieldType::Date, "CloseDate", "Close Date", 0)
        .required()
        .add(FieldType::Currency, "Amount", "Amount", 0)
        .add(FieldType::Percent, "Probability", "Probability (%)", 0)
        .picklist("Type", "Opportunity Type", &["New Business", "Existing Business"])
        .picklist("LeadSource", "Lead Source", LEAD_SOURCES)
        .text("NextStep", "Next Step", 255)
        .boolean("IsClosed", "Closed")
        .read_only()
        .boolean("IsWon", "Won")
        .read_only()
        .add(FieldType::LongTextArea, "Description", "Description", 32000)
        .build()
}

fn user() -> ObjectDef {
    O::new("User", "User", "Users", "005", false)
        .text("Username", "Username", 80)
        .required()
        .indexed()
        .text("FirstName", "First Name", 40)
        .text("LastName", "Last Name", 80)
        .required()
        .text("Name", "Full Name", 121)
        .read_only()
        .text("Alias", "Alias", 8)
        .add(FieldType::Email, "Email", "Email", 80)
        .required()
        .phone("Phone", "Phone")
        .phone("MobilePhone", "Mobile")
        .text("Extension", "Extension", 40)
        .text("Title", "Title", 80)
        .text("Department", "Department", 80)
        .add(FieldType::Boolean, "IsActive", "Active", 0)
        .default(crate::Value::Bool(true))
        .text("ProfileName", "Profile", 80)
        .default_text("Standard User")
        .text("RoleName", "Role", 80)
        .text("PermissionSetNames", "Permission Sets (semicolon-separated)", 1000)
        .text("PermissionSetGroupNames", "Permission Set Groups (semicolon-separated)", 1000)
        .reference("CallCenterId", "Call Center ID", &["CallCenter"])
        .text("TimeZoneSidKey", "Time Zone", 40)
        .default_text("America/Los_Angeles")
        .text("LocaleSidKey", "Locale", 40)
        .default_text("en_US")
        .text("LanguageLocaleKey", "Language", 40)
        .default_text("en_US")
        .text("FederationIdentifier", "Federation ID", 512)
        .build()
}

fn call_center() -> ObjectDef {
    O::new("CallCenter", "Call Center", "Call Centers", "04v", false)
        .text("Name", "Name", 80)
        .required()
        .text("InternalName", "Internal Name", 80)
        .required()
        .indexed()
        .add(FieldType::Url, "AdapterUrl", "CTI Adapter URL", 1024)
        .text("Version", "Version", 40)
        .add(FieldType::LongTextArea, "CustomSettings", "Custom Settings", 32000)
        .picklist("Format", "Definition Format", &["Legacy", "Metadata"])
        .add(FieldType::LongTextArea, "Definition", "Definition (XML)", 131072)
        .add(FieldType::Int, "RecordingRetentionDays", "Keep Recordings and Transcripts (Days)", 0)
        .build()
}

fn voice_call() -> ObjectDef {
    O::new("VoiceCall", "Voice Call", "Voice Calls", "0LQ", true)
        .add(FieldType::AutoNumber, "Name", "Voice Call Name", 30)
        .read_only()
        .indexed()
        .text("VendorCallKey", "Vendor Call Key", 255)
        .create_only()
        .indexed()
        .picklist("VendorType", "Vendor Type", &["ContactCenter", "Sip", "Twilio", "PartnerTelephony"])
        .picklist("CallType", "Call Type", &["Inbound", "Outbound", "Transfer", "Callback", "Internal"])
        .indexed()
        .picklist("CallOrigin", "Call Origin", &["PSTN", "SIP", "Twilio", "Softphone", "Callback", "Partner"])
        .picklist(
            "CallDisposition",
            "Call Disposition",
            &["new", "ringing", "in-progress", "on-hold", "completed", "failed", "busy", "no-answer", "canceled", "voicemail"],
        )
        .indexed()
        .text("CallResolution", "Call Resolution", 255)
        .picklist("ScreenPopOutcome", "Screen Pop Outcome", &["Matched", "Chooser", "NewRecord", "Fallback", "None", "Failed"])
        .restricted()
        .picklist(
            "DisconnectReason",
            "Disconnect Reason",
            &["CustomerDisconnect", "AgentDisconnect", "Transferred", "Failed", "Busy", "NoAnswer", "Canceled", "Timeout", "Reaped", "Voicemail"],
        )
        .add(FieldType::DateTime, "CallStartDateTime", "Call Started", 0)
        .indexed()
        .add(FieldType::DateTime, "CallQueuedDateTime", "Call Queued", 0)
        .add(FieldType::DateTime, "CallAcceptDateTime", "Call Accepted", 0)
        .add(FieldType::DateTime, "CallEndDateTime", "Call Ended", 0)
        .add(FieldType::Int, "CallDurationInSeconds", "Call Duration (Seconds)", 0)
        .phone("FromPhoneNumber", "From Phone Number")
        .phone("ToPhoneNumber", "To Phone Number")
        .text("QueueName", "Queue Name", 255)
        .indexed()
        .reference("RelatedRecordId", "Related Record ID", &["Contact", "Lead", "Account", "Case", "Opportunity"])
        .reference("PreviousCallId", "Previous Call ID", &["VoiceCall"])
        .reference("NextCallId", "Next Call ID", &["VoiceCall"])
        .reference("CallCenterId", "Call Center ID", &["CallCenter"])
        .add(FieldType::Int, "CustomerHoldDuration", "Customer Hold Duration (Seconds)", 0)
        .add(FieldType::Int, "NumberOfHolds", "Number of Holds", 0)
        .add(FieldType::Int, "LongestHoldDuration", "Longest Hold Duration (Seconds)", 0)
        .add(FieldType::Int, "AfterCallWorkDuration", "After Call Work (Seconds)", 0)
        .boolean("IsRecorded", "Recorded")
        // Contact-centre measures, derived by the call lifecycle so reports are plain SOQL.
        .picklist("CallOutcome", "Call Outcome", &["Answered", "Abandoned", "Voicemail", "Missed", "Failed"])
        .restricted()
        .read_only()
        .indexed()
        .add(FieldType::Int, "SpeedOfAnswerInSeconds", "Speed of Answer (Seconds)", 0)
        .read_only()
        .add(FieldType::Int, "TalkTimeInSeconds", "Talk Time (Seconds)", 0)
        .read_only()
        .add(FieldType::Int, "HandleTimeInSeconds", "Handle Time (Seconds)", 0)
        .read_only()
        .add(FieldType::LongTextArea, "Description", "Description", 32000)
        .add(FieldType::LongTextArea, "RoutingDecision", "Routing Decision (JSON)", 131072)
        .read_only()
        .untracked()
        // The standard reports filter on the start time and read only these
        // columns: with them in one index, a report over millions of calls
        // scans the index, not the table's wide rows (bench/reports).
        .composite_index(
            "reports",
            &[
                "CallStartDateTime", "CallType", "CallOutcome", "QueueName", "OwnerId", "SpeedOfAnswerInSeconds", "TalkTimeInSeconds",
                "HandleTimeInSeconds", "CustomerHoldDuration", "AfterCallWorkDuration", "CallResolution", "ScreenPopOutcome",
            ],
        )
        // The per-agent table groups by owner: read in owner order, it needs no sort.
        .composite_index(
            "reports_by_agent",
            &["OwnerId", "CallStartDateTime", "CallOutcome", "SpeedOfAnswerInSeconds", "TalkTimeInSeconds", "HandleTimeInSeconds", "CustomerHoldDuration", "AfterCallWorkDuration"],
        )
        .with_history()
        .build()
}

fn voice_call_recording() -> ObjectDef {
    O::new("VoiceCallRecording", "Voice Call Recording", "Voice Call Recordings", "0Ls", false)
        .add(FieldType::AutoNumber, "Name", "Recording Name", 30)
        .read_only()
        .reference("VoiceCallId", "Voice Call ID", &["VoiceCall"])
        .required()
        .text("Provider", "Provider", 40)
        .text("VendorRecordingKey", "Vendor Recording Key", 255)
        .add(FieldType::Url, "MediaUrl", "Media URL", 2048)
        .add(FieldType::Int, "DurationInSeconds", "Duration (Seconds)", 0)
        .add(FieldType::DateTime, "ExpiresDateTime", "Expires", 0)
        .add(FieldType::LongTextArea, "Transcript", "Transcript (redacted)", 131072)
        .build()
}

/// One line of a call's transcript (Salesforce's ConversationEntry): who
/// said what when. Access follows the call (ControlledByParent).
fn conversation_entry() -> ObjectDef {
    O::new("ConversationEntry", "Conversation Entry", "Conversation Entries", "0XU", false)
        .add(FieldType::AutoNumber, "Name", "Entry Number", 30)
        .read_only()
        .reference("ConversationId", "Conversation ID", &["VoiceCall"])
        .required()
        .picklist("ActorType", "Actor Type", &["EndUser", "Agent", "Bot"])
        .restricted()
        .reference("ActorId", "Actor ID", &["User"])
        .add(FieldType::LongTextArea, "Message", "Message (redacted)", 32000)
        .add(FieldType::DateTime, "EntryTime", "Entry Time", 0)
        .text("VendorEntryKey", "Vendor Entry Key", 255)
        .build()
}

fn task() -> ObjectDef {
    O::new("Task", "Task", "Tasks", "00T", true)
        .text("Subject", "Subject", 255)
        .picklist("Status", "Status", &["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"])
        .default_text("Not Started")
        .picklist("Priority", "Priority", &["High", "Normal", "Low"])
        .default_text("Normal")
        .add(FieldType::Date, "ActivityDate", "Due Date Only", 0)
        .reference("WhoId", "Name ID", &["Contact", "Lead"])
        .reference("WhatId", "Related To ID", &["Account", "Opportunity", "Case", "VoiceCall"])
        .add(FieldType::LongTextArea, "Description", "Comments", 32000)
        .picklist("TaskSubtype", "Task Subtype", &["Task", "Email", "ListEmail", "Cadence", "Call"])
        .restricted()
        .default_text("Task")
        .create_only()
        .picklist("CallType", "Call Type", &["Inbound", "Outbound", "Internal"])
        .restricted()
        .add(FieldType::Int, "CallDurationInSeconds", "Call Duration", 0)
        .text("CallDisposition", "Call Result", 255)
        .text("CallObject", "Call Object Identifier", 255)
        .indexed()
        .boolean("IsClosed", "Closed")
        .read_only()
        .build()
}

/// One stretch of an agent in one presence status (Omni-Channel's
/// UserServicePresence): opened when the status is set, closed — end date and
/// duration filled in, `IsCurrentState` false — when the next one starts. The
/// time-in-status report sums `StatusDuration`. Owned by the agent.
fn user_service_presence() -> ObjectDef {
    O::new("UserServicePresence", "User Presence", "User Presences", "0Hm", true)
        .add(FieldType::AutoNumber, "Name", "User Presence Name", 30)
        .read_only()
        .reference("UserId", "User ID", &["User"])
        .required()
        .create_only()
        .indexed()
        .text("StatusName", "Presence Status", 80)
        .required()
        .indexed()
        .picklist("BasePresence", "Base Presence", &["Available", "Busy", "Away", "Offline", "AfterCallWork"])
        .add(FieldType::DateTime, "StatusStartDate", "Status Start Date", 0)
        .required()
        .indexed()
        .add(FieldType::DateTime, "StatusEndDate", "Status End Date", 0)
        .add(FieldType::Int, "StatusDuration", "Status Duration (Seconds)", 0)
        .boolean("IsCurrentState", "Is Current State")
        .indexed()
        .build()
}

/// An error the softphone adapter met (an Open CTI call that failed, an
/// adapter that did not load), reported by the agent's console so the
/// adapter-errors report counts them. Owned by the agent who met it.
fn adapter_error_log() -> ObjectDef {
    O::new("AdapterErrorLog", "Adapter Error", "Adapter Errors", "a0A", true)
        .add(FieldType::AutoNumber, "Name", "Adapter Error Number", 30)
        .read_only()
        .text("Code", "Code", 80)
        .required()
        .indexed()
        .text("Method", "Method", 80)
        .indexed()
        .text("Message", "Message", 255)
        .reference("CallCenterId", "Call Center ID", &["CallCenter"])
        .add(FieldType::DateTime, "OccurredDateTime", "Occurred", 0)
        .required()
        .indexed()
        .build()
}

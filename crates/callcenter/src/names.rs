//! Names of the sections and items Salesforce gives a meaning to.
//!
//! Vendor sections and items may use any name; real files even give vendor items `req` names,
//! such as `reqProvider`.

/// Section with the general settings: names, adapter URL, softphone size.
pub const GENERAL_INFO: &str = "reqGeneralInfo";
/// Section with the dialing prefixes.
pub const DIALING_OPTIONS: &str = "reqDialingOptions";
/// Section with the Salesforce Voice (Service Cloud Voice) partner telephony settings.
pub const HVCC_SECTION: &str = "reqHvcc";

/// Internal (API) name of the call center.
pub const INTERNAL_NAME: &str = "reqInternalName";
/// Name shown to users.
pub const DISPLAY_NAME: &str = "reqDisplayName";
/// URL of the CTI adapter (Open CTI page or CTI 4 adapter).
pub const ADAPTER_URL: &str = "reqAdapterUrl";
/// Whether the adapter uses the Open CTI API: `true` or `false`.
pub const USE_API: &str = "reqUseApi";
/// Softphone height in pixels.
pub const SOFTPHONE_HEIGHT: &str = "reqSoftphoneHeight";
/// Softphone width in pixels.
pub const SOFTPHONE_WIDTH: &str = "reqSoftphoneWidth";
/// URL the softphone shows while the adapter loads (Open CTI standby page).
pub const STANDBY_URL: &str = "reqStandbyUrl";
/// Adapter timeout in milliseconds.
pub const TIMEOUT: &str = "reqTimeout";
/// Prefix to reach an outside line.
pub const OUTSIDE_PREFIX: &str = "reqOutsidePrefix";
/// Prefix for long-distance calls.
pub const LONG_DIST_PREFIX: &str = "reqLongDistPrefix";
/// Prefix for international calls.
pub const INTERNATIONAL_PREFIX: &str = "reqInternationalPrefix";

/// Developer name of the partner's `ConversationVendorInfo` (partner telephony).
pub const VENDOR_INFO_API_NAME: &str = "reqVendorInfoApiName";
/// Telephony provider of early partner telephony (BYOT) centers, before `reqVendorInfoApiName`.
pub const TELEPHONY_PROVIDER: &str = "reqTelephonyProvider";
/// SSO relay state URL (partner telephony).
pub const RELAY_STATE: &str = "reqRelayState";
/// Identity provider login URL (partner telephony).
pub const IDENTITY_URL: &str = "reqIdentityUrl";
/// PEM certificate or public key that signs telephony integration tokens (partner telephony).
pub const TELEPHONY_INTEGRATION_CERTIFICATE: &str = "reqTelephonyIntegrationCertificate";
/// Whether universal call recording access is on: `true` or `false` (partner telephony).
pub const UNIVERSAL_CALL_RECORDING_ACCESS: &str = "reqUniversalCallRecordingAccess";

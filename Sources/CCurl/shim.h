// libcurl's option and info calls are variadic, which Swift cannot call; these typed wrappers are
// the only way the Swift side reaches them.
#ifndef CRM_CCURL_SHIM_H
#define CRM_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*crm_curl_read_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode crm_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode crm_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode crm_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode crm_curl_setopt_list(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode crm_curl_setopt_read_callback(CURL *handle, crm_curl_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

static inline CURLcode crm_curl_setopt_size(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline long crm_curl_response_code(CURL *handle) {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

#endif

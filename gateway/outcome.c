/*
 * outcome: the endpoint labels. See outcome.h.
 */
#include "outcome.h"

#include <stddef.h>

static const char *const names[SGW_ENDPOINT_N] = {
    [SGW_ENDPOINT_LOGIN] = "login",
    [SGW_ENDPOINT_LOGOUT] = "logout",
    [SGW_ENDPOINT_LOGOUT_ALL] = "logout-all",
    [SGW_ENDPOINT_SESSION] = "session",
    [SGW_ENDPOINT_SESSIONS] = "sessions",
    [SGW_ENDPOINT_DATA] = "data",
    [SGW_ENDPOINT_CHECK] = "check",
    [SGW_ENDPOINT_HEALTHZ] = "healthz",
    [SGW_ENDPOINT_AUTHORIZER] = "authorizer",
    [SGW_ENDPOINT_UNKNOWN] = "unknown",
    [SGW_ENDPOINT_OTHER] = "other",
};

const char *
sgw_endpoint_name(enum sgw_endpoint ep)
{
	if ((unsigned)ep >= SGW_ENDPOINT_N)
		return names[SGW_ENDPOINT_OTHER];
	return names[ep];
}

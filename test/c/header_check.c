/* The public header compiles as pedantic C11 without warnings. */
#include <string.h>

#include "knowhere_rs.h"

static int cancellable(CInterrupt h, knowhere_error **err) {
    KNOWHERE_CHECK_INTERRUPT_MSG(h, err, "cancelled");
    KNOWHERE_CHECK_INTERRUPT(h);
    return KNOWHERE_OK;
}

int main(void) {
    CInterrupt h = knowhere_interrupt_create_with_state(true);
    knowhere_error *err = NULL;
    int status = cancellable(h, &err);
    int ok = status == KNOWHERE_ERR_INTERRUPTED &&
             strcmp(knowhere_error_message(err), "cancelled") == 0;
    knowhere_error_free(err);
    knowhere_interrupt_free(h);
    return ok ? 0 : 1;
}

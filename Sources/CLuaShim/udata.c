// Userdata blocks: a magic number and a type id in front of the Swift object.
#include "host.h"

mm_udata *mm_udata_push(lua_State *L, const void *type_id, void *object) {
    mm_udata *block = (mm_udata *)lua_newuserdatauv(L, sizeof(mm_udata), 0);
    block->magic = MM_UDATA_MAGIC;
    block->reserved_null = NULL;
    block->type_id = type_id;
    block->object = object;
    return block;
}

mm_udata *mm_udata_at(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA) {
        return NULL;
    }
    if (lua_rawlen(L, idx) != sizeof(mm_udata)) {
        return NULL;
    }
    mm_udata *block = (mm_udata *)lua_touserdata(L, idx);
    if (block == NULL || block->magic != MM_UDATA_MAGIC || block->reserved_null != NULL) {
        return NULL;
    }
    return block;
}

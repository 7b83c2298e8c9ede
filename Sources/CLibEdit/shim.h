#ifndef MOONMOTION_CLIBEDIT_SHIM_H
#define MOONMOTION_CLIBEDIT_SHIM_H
#include <stdio.h>
#include <editline/readline.h>
#endif

#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""The ℓ1 norm; ℹ see below."""
MSG = "ＰＣを再起動 ＯＫ"
ES = "Pedido nº 5, 1º lugar, 2ª vez. Nº (ver abajo)"

# -*- coding: latin-1 -*-
# Pedido nº 5, 1º lugar, 2ª vez
NAME = "José"

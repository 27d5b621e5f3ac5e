# vim: set fileencoding=cp1252 :
X = 1

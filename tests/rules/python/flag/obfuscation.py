# expect: py-chr-chain py-chr-join py-hex-escaped-exec py-base64-blob
cmd = chr(111)+chr(115)+chr(46)+chr(115)+chr(121)
name = "".join(map(chr, [111, 115, 46, 115, 121, 115]))
name2 = ''.join(chr(c ^ 42) for c in [69, 89, 4])
exec("\x69\x6d\x70\x6f\x72\x74\x20\x6f\x73")
eval('\x5f\x5f\x69\x6d\x70\x6f\x72\x74')
PAYLOAD = "ljpYdAg3P+H5vuTMgjpDOwEaO3ecOHLPQTXCsoQkbVIwau2+WVwxnRT81l0ivHj+SLCpc0KnO3qK8jts2vN5W6dQq92YcLWkaeh8vMej1hXLQCAghWTeCLA8l0UvZvXQ4TcNcmHt14N13J2T4IdHqc4eGjNLg1DVOO4ru31bexc5itG3uFvK4shCQQIAFrNsAnBVlzZVCQaBfPVcE02XSuORPuRLcdTwoRJE+u+Mel2YHtEO+Im8wDNvESEgzkaXqCGiUkQnjxGyW6ECUzIhWBk7s3I/v/hQ7D3/+g5jr5hDHfY1g1HHEg4ako2LyefGlu+ODCRf4vZWNblHIfmmurk/IIRqpi1pMz42f3OO6iNdQzn8FPRrGMTLrkP5YMrRf+dfVy28aVNfFxNR9eZuscxHHeZz+CzSGb98YnVcJwxI7PLzaPwve3f2cQi080PANi0J88xut4y8fb26N93jkFzyuWdApEaWPP+weQB2TR7+8JOtLzbGkQCsXG5h0tGK/nz+fiH4Ze4aaoICND/PG3crZoNHbJyyx5nNvd7/inpAUrd17XjxvGXH7QaIu3maS239vasIiPSr025jukZMKrkA5UmIA9nDRNFro87H7ci22OVr62Y6Zq1o+xWBoA3JRUsr7LlpV6asl4iWGA5tIXNwZ34JOU2AsMuggg5QygYq7V63kiaNFubqzUXLVU6Q6eua2dx3ovSitSPIjPqs9KPo/SO8a9pB1x2DT88fjiXzRK28cqeKTGMAvZV70d6SKAyn5WR9B21hvszeyjTO33nPZZ9tgYV0"
